/**
 * Firewall operations on our table: the pure builders of `nft/` applied through an NftRunner.
 * Used by the CLI (install, status, grant, revoke) and by the daemon (grants, revokes, reinstall).
 */
import { NftError, UsageError, type AccessEntry, type Grant, type NftBatch, type NftRunner, type Revoke } from '../core';
import type { Config } from '../config';
import {
  ACCESS_SETS, CHAIN, MARKER_CHAIN, SetLayout, buildGrantBatch, buildRemoveBatch, buildRuleset, buildUninstall, revokeRefs, parseAccessEntries, type RulesetOptions,
} from '../nft';
import { applyIsolated, isSetFull, type ItemFailure } from './isolate';

export class Firewall {
  /**
   * `layout`: the sets of the installed config (nft/layout.ts), where grants and revokes go; without
   * one, only the shared sets (grants of any door land in `allowed4/6`).
   * `probe` runs every listing (health, existence, the grants read back for a reinstall); the daemon
   * passes the nft process there, so a listing never blocks its event loop (libnftables runs in the
   * caller's thread, and listing 60,000 grants takes ~2 s). Default: `nft`.
   */
  constructor(
    private readonly nft: NftRunner,
    readonly table: string,
    readonly layout: SetLayout = new SetLayout([]),
    private readonly probe: NftRunner = nft,
  ) {}

  /**
   * Whether `table inet <table>` exists, without listing set elements: terse listings of the
   * family's sets and chains first (cheap whatever the grants), the table itself only when it has
   * neither. Other failures (no nft, no permission) are thrown.
   */
  async exists(): Promise<boolean> {
    return (await this.structure(this.probe)).exists;
  }

  /**
   * Whose table of our name is there: `ours` (it carries the marker chain), `foreign` (a table of
   * that name without it), or `absent`. Cheap: neither reads a set's elements.
   */
  async ownership(): Promise<'ours' | 'foreign' | 'absent'> {
    try {
      await this.probe.list(['chain', 'inet', this.table, MARKER_CHAIN], `read the marker of table inet ${this.table}`);
      return 'ours';
    } catch (e) {
      if (!(e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND')) throw e;
    }
    const tables = (await this.probe.list(['tables', 'inet'], 'list the inet tables')) as { nftables?: { table?: { name?: string } }[] };
    return (tables.nftables ?? []).some((o) => o.table?.name === this.table) ? 'foreign' : 'absent';
  }

  /** Throw ForeignTableError when a table of our name is someone else's. */
  async assertNotForeign(): Promise<void> {
    if ((await this.ownership()) === 'foreign') throw new ForeignTableError(this.table);
  }

  /** Every element of our access sets, as the kernel has them now; [] when the table is missing. */
  async readAccess(): Promise<AccessEntry[]> {
    try {
      return parseAccessEntries(await this.probe.list(['table', 'inet', this.table], `read table inet ${this.table}`));
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

  /**
   * Check the batch in nft's check mode, then apply it: one atomic transaction. Refuses (ForeignTableError)
   * to replace a table of our name that is not ours.
   */
  async install(batch: NftBatch): Promise<void> {
    await this.assertNotForeign();
    await this.nft.check(batch, `check the ruleset for table inet ${this.table}`);
    await this.nft.apply(batch, `install the ruleset (table inet ${this.table})`);
  }

  /**
   * Is our table intact? `missing`: deleted (e.g. `nft flush ruleset`); `damaged`: an access set or
   * the input chain is gone, or (with `rules`) the input chain was flushed (`nft flush table` keeps
   * the chain and its drop policy but removes every rule: all new traffic is then dropped).
   * Never lists set elements: `nft -t list sets` and `list chains` cost ~20 ms with 60,000 grants,
   * where listing the table costs ~2 s. Counting the input chain's rules cannot avoid loading the
   * sets it references (~0.7 s with 60,000 grants, even terse), so it is the `rules` option, which
   * the daemon runs less often. Rule counts are not compared with a config: an admin who installs
   * an edited config before reloading the daemon would otherwise see the daemon put the old one back.
   * nft failures (no binary, no permission) are thrown.
   */
  async health(opts: { rules?: boolean } = {}): Promise<{ state: 'ok' | 'missing' | 'damaged' | 'foreign'; detail: string }> {
    const { exists, sets, chains } = await this.structure(this.probe);
    if (!exists) return { state: 'missing', detail: `table inet ${this.table} does not exist` };
    if (!chains.has(MARKER_CHAIN)) return { state: 'foreign', detail: `table inet ${this.table} has no chain ${MARKER_CHAIN}: it is not ours (any more)` };
    const missing: string[] = [];
    const lostSets = ACCESS_SETS.filter((n) => !sets.has(n));
    if (lostSets.length) missing.push(`set${lostSets.length > 1 ? 's' : ''} ${lostSets.join(', ')}`);
    if (!chains.has(CHAIN)) missing.push(`chain ${CHAIN}`);
    else if (opts.rules && (await this.inputRules()) === 0) missing.push(`every rule of chain ${CHAIN}`);
    return missing.length ? { state: 'damaged', detail: `table inet ${this.table} lost ${missing.join('; ')}` } : { state: 'ok', detail: '' };
  }

  private async inputRules(): Promise<number> {
    const listed = (await this.probe.list(['chain', 'inet', this.table, CHAIN], `read chain ${CHAIN} of table inet ${this.table}`, { terse: true })) as { nftables?: Record<string, unknown>[] };
    return (listed.nftables ?? []).filter((o) => o.rule).length;
  }

  /** Our table's set and chain names, from terse listings (no elements, no rules). */
  private async structure(nft: NftRunner): Promise<{ exists: boolean; sets: Set<string | undefined>; chains: Set<string | undefined> }> {
    type Obj = Record<string, { name?: string; table?: string }>;
    const list = async (what: string): Promise<Obj[]> =>
      ((await nft.list([what, 'inet'], `read the ${what} of table inet ${this.table}`, { terse: true })) as { nftables?: Obj[] }).nftables ?? [];
    const names = (objs: Obj[], kind: string) => new Set(objs.filter((o) => o[kind]?.table === this.table).map((o) => o[kind]?.name));
    const sets = names(await list('sets'), 'set');
    const chains = names(await list('chains'), 'chain');
    if (sets.size || chains.size) return { exists: true, sets, chains };
    try {
      await nft.list(['table', 'inet', this.table], `read table inet ${this.table}`, { terse: true });
      return { exists: true, sets, chains };
    } catch (e) {
      if (e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND') return { exists: false, sets, chains };
      throw e;
    }
  }

  /** Install `cfg`'s ruleset again, keeping the grants still in the sets. Returns how many were kept. */
  async reinstall(cfg: Config): Promise<number> {
    const batch = await this.buildInstall(cfg, {});
    await this.install(batch);
    return batch.nftables.filter((c) => 'add' in c && 'element' in (c.add as object)).length;
  }

  /** Delete our table; false when there was none. Refuses (ForeignTableError) to delete someone else's. */
  async uninstall(): Promise<boolean> {
    const owner = await this.ownership();
    if (owner === 'foreign') throw new ForeignTableError(this.table);
    if (owner === 'ours') await this.nft.apply(buildUninstall(this.table), `delete table inet ${this.table}`);
    return owner === 'ours';
  }

  async grant(grants: readonly Grant[]): Promise<void> {
    if (grants.length === 0) return;
    try {
      await this.nft.apply(buildGrantBatch(this.table, this.layout, grants), 'add grant');
    } catch (e) {
      throw (await this.explainMissing(e));
    }
  }

  /**
   * Grants in one batch; when it fails for some of them (a full set, an element nft refuses), the
   * others still land: see isolate.ts. Returns the grants that failed, each with nft's error. Throws
   * only when the table is unusable as a whole (missing, no permission, no nft).
   */
  async grantEach(grants: readonly Grant[]): Promise<ItemFailure<Grant>[]> {
    return applyIsolated(grants, (part) => this.grant(part));
  }

  /** Revoke in one batch when it can; throws the first failure of revokeEach. */
  async revoke(revokes: readonly Revoke[]): Promise<void> {
    const failed = await this.revokeEach(revokes);
    if (failed.length) throw failed[0]?.error;
  }

  /**
   * Revokes, isolated per element: a revoke adds then deletes each element (idempotent), and that
   * `add` fails with ENFILE when the element is absent from a full set (layout.revokeSets spans every
   * door's sets). Such an element had nothing to revoke, so that failure is no failure; any other
   * one fails the revokes that needed that element.
   */
  async revokeEach(revokes: readonly Revoke[]): Promise<ItemFailure<Revoke>[]> {
    if (revokes.length === 0) return [];
    const needCurrent = revokes.some((r) => r.services === undefined);
    const current = needCurrent ? await this.readAccessInstalled() : [];
    const per = revokes.map((r) => ({ r, refs: revokeRefs(this.layout, r, current) }));
    const failed = await applyIsolated(per.flatMap((p) => p.refs), async (part) => {
      try {
        await this.nft.apply(buildRemoveBatch(this.table, part), 'revoke access');
      } catch (e) {
        throw (await this.explainMissing(e));
      }
    });
    const real = failed.filter((f) => !isSetFull(f.error));
    const out: ItemFailure<Revoke>[] = [];
    for (const p of per) {
      const f = real.find((x) => p.refs.includes(x.item));
      if (f) out.push({ item: p.r, error: f.error });
    }
    return out;
  }

  private async explainMissing(e: unknown): Promise<unknown> {
    if (e instanceof NftError && e.code === 'ERR_NFT_NOT_FOUND' && !(await this.exists().catch(() => true))) return notInstalled(this.table);
    return e;
  }
}

/** A table of the configured name exists and is not ours: never replaced or deleted (exit 2). */
export class ForeignTableError extends UsageError {
  constructor(readonly table: string) {
    super(
      `table inet ${table} exists and was not installed by knockctl (it has no chain ${MARKER_CHAIN}, which every table knockctl installs carries); ` +
        `knockctl replaces and deletes only its own table. Choose another name with "table:" in the config, or, if that table is a leftover ` +
        `you want gone, delete it yourself: nft delete table inet ${table}`,
    );
  }
}

export function notInstalled(table: string): NftError {
  return new NftError(`use table inet ${table}`, 1, `table inet ${table} is not installed; run: knockctl install-ruleset`, { code: 'ERR_NO_TABLE' });
}
