/**
 * Firewall operations on our table: the pure builders of `nft/` applied through an NftRunner.
 * Used by the CLI (install, status, grant, revoke) and by the daemon (grants, revokes, reinstall).
 */
import { NftError, type AccessEntry, type Grant, type NftBatch, type NftRunner, type Revoke } from '../core';
import type { Config } from '../config';
import { ACCESS_SETS, CHAIN, buildGrantBatch, buildRevokeBatch, buildRuleset, buildUninstall, parseAccessEntries, type RulesetOptions } from '../nft';

export class Firewall {
  constructor(
    private readonly nft: NftRunner,
    readonly table: string,
  ) {}

  /** Whether `table inet <table>` exists. Other failures (no nft, no permission) are thrown. */
  async exists(): Promise<boolean> {
    try {
      await this.nft.list(['table', 'inet', this.table], `read table inet ${this.table}`);
      return true;
    } catch (e) {
      if (e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND') return false;
      throw e;
    }
  }

  /** Every element of our access sets, as the kernel has them now; [] when the table is missing. */
  async readAccess(): Promise<AccessEntry[]> {
    try {
      return parseAccessEntries(await this.nft.list(['table', 'inet', this.table], `read table inet ${this.table}`));
    } catch (e) {
      if (e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND') return [];
      throw e;
    }
  }

  /** Read the whole table, or fail with a message that says how to install it. */
  async readAccessInstalled(): Promise<AccessEntry[]> {
    if (!(await this.exists())) throw notInstalled(this.table);
    return this.readAccess();
  }

  /** The install batch: current grants are carried over with their remaining time. */
  async buildInstall(cfg: Config, opts: Omit<RulesetOptions, 'keep'> & { extraKeep?: readonly AccessEntry[] }): Promise<NftBatch> {
    const current = await this.readAccess();
    const keep = [...current, ...(opts.extraKeep ?? [])];
    return buildRuleset(cfg, { ...(opts.extra ? { extra: opts.extra } : {}), keep });
  }

  /** Check the batch in nft's check mode, then apply it: one atomic transaction. */
  async install(batch: NftBatch): Promise<void> {
    await this.nft.check(batch, `check the ruleset for table inet ${this.table}`);
    await this.nft.apply(batch, `install the ruleset (table inet ${this.table})`);
  }

  /**
   * Is our table still what `cfg` installs? `missing`: deleted (e.g. `nft flush ruleset`);
   * `damaged`: a set, chain or rule is gone (e.g. `nft flush table`, which keeps the chain and its
   * drop policy but removes every rule: all new traffic is then dropped). Counts only, no diff:
   * cheap enough to run every few seconds. nft failures (no binary, no permission) are thrown.
   */
  async health(): Promise<{ state: 'ok' | 'missing' | 'damaged'; detail: string }> {
    let listed: unknown;
    try {
      listed = await this.nft.list(['table', 'inet', this.table], `read table inet ${this.table}`);
    } catch (e) {
      if (e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND') return { state: 'missing', detail: `table inet ${this.table} does not exist` };
      throw e;
    }
    // Damage only someone else does: our access sets or input chain gone, or the chain flushed.
    // Rule counts are not compared with `cfg`: an admin who re-installs an edited config before
    // reloading the daemon would otherwise see the daemon put the old ruleset back.
    const have = ((listed as { nftables?: Record<string, { name?: string; chain?: string }>[] }).nftables ?? []);
    const sets = new Set(have.filter((o) => o.set).map((o) => o.set?.name));
    const chains = new Set(have.filter((o) => o.chain).map((o) => o.chain?.name));
    const inputRules = have.filter((o) => o.rule && (o.rule as { chain?: string }).chain === CHAIN).length;
    const missing: string[] = [];
    const lostSets = ACCESS_SETS.filter((n) => !sets.has(n));
    if (lostSets.length) missing.push(`set${lostSets.length > 1 ? 's' : ''} ${lostSets.join(', ')}`);
    if (!chains.has(CHAIN)) missing.push(`chain ${CHAIN}`);
    else if (inputRules === 0) missing.push(`every rule of chain ${CHAIN}`);
    return missing.length ? { state: 'damaged', detail: `table inet ${this.table} lost ${missing.join('; ')}` } : { state: 'ok', detail: '' };
  }

  /** Install `cfg`'s ruleset again, keeping the grants still in the sets. Returns how many were kept. */
  async reinstall(cfg: Config): Promise<number> {
    const batch = await this.buildInstall(cfg, {});
    await this.install(batch);
    return batch.nftables.filter((c) => 'add' in c && 'element' in (c.add as object)).length;
  }

  async uninstall(): Promise<boolean> {
    const existed = await this.exists();
    if (existed) await this.nft.apply(buildUninstall(this.table), `delete table inet ${this.table}`);
    return existed;
  }

  async grant(grants: readonly Grant[]): Promise<void> {
    if (grants.length === 0) return;
    try {
      await this.nft.apply(buildGrantBatch(this.table, grants), 'add grant');
    } catch (e) {
      throw (await this.explainMissing(e));
    }
  }

  async revoke(revokes: readonly Revoke[]): Promise<void> {
    if (revokes.length === 0) return;
    const needCurrent = revokes.some((r) => r.services === undefined);
    const current = needCurrent ? await this.readAccessInstalled() : [];
    const batch = buildRevokeBatch(this.table, revokes, current);
    try {
      await this.nft.apply(batch, 'revoke access');
    } catch (e) {
      throw (await this.explainMissing(e));
    }
  }

  private async explainMissing(e: unknown): Promise<unknown> {
    if (e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND' && !(await this.exists().catch(() => true))) return notInstalled(this.table);
    return e;
  }
}

export function notInstalled(table: string): NftError {
  return new NftError(`use table inet ${table}`, 1, `table inet ${table} is not installed; run: knockctl install-ruleset`, { code: 'ERR_NO_TABLE' });
}
