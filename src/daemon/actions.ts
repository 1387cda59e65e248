/**
 * Grants, revokes and hooks leave the packet path here. Requests arriving in the same tick go to nft
 * as one batch (one process). A failed batch is retried with backoff (RETRY_DELAYS_MS: 250 ms up to
 * 2 s, 3.75 s in all), because the usual causes are transient (nft being upgraded, a moment without
 * CAP_NET_ADMIN in a container restart); one retry after 250 ms lost grants to anything slower. When
 * our table is gone the daemon is asked to reinstall it before the next try. Then each failure is
 * logged with nft's own message. The kernel owns expiry.
 *
 * Bounds: at most MAX_QUEUE requests wait (a repeated grant replaces the queued one; a later revoke
 * cancels a queued grant of the same door and address, and the reverse), at most MAX_BATCH go into
 * one nft call, and at most MAX_HOOKS hooks run or wait.
 */
import { type Grant, type Logger, type Revoke, type Service, formatService } from '../core';
import type { Door } from '../config';
import type { Firewall } from './firewall';
import type { HookRunner } from '../io/hook-runner';
import type { DaemonStats } from './stats';
import { RateLimit } from './rate-limit';
import { isSetFull } from './isolate';
import { serviceFamilies } from '../nft';
import { bump } from './stats';

/** Pauses before the 2nd..5th attempt of one batch. */
export const RETRY_DELAYS_MS = [250, 500, 1000, 2000] as const;
export const MAX_QUEUE = 4096;
export const MAX_BATCH = 512;
export const MAX_HOOKS = 256;

export interface ActionDeps {
  firewall: () => Firewall;
  hooks: HookRunner;
  log: Logger;
  stats: DaemonStats;
  /** Timers, injectable for tests. */
  setTimer: (fn: () => void, ms: number) => { unref?: () => void };
  /** Our table is gone (nft said so): reinstall it if the config says so; true when it is back. */
  onRulesetMissing?: () => Promise<boolean>;
  /** Monotonic ms for the drop-log rate limit; performance.now when absent. */
  now?: () => number;
}

type Queued<T> = { item: T; why: Record<string, unknown> };

export class Actions {
  /** Keyed by door and address, so a flood of repeats from one source holds one entry. */
  private readonly grants = new Map<string, Queued<Grant>>();
  private readonly revokes = new Map<string, Queued<Revoke>>();
  private scheduled = false;
  private draining: Promise<void> | undefined;
  private batches = 0;
  private hooksPending = 0;
  private readonly dropLog = new RateLimit(5, 1000);

  constructor(private readonly deps: ActionDeps) {}

  get queued(): number {
    return this.grants.size + this.revokes.size;
  }

  grant(grant: Grant, why: Record<string, unknown>): void {
    const key = `${grant.door}|${grant.addr}|${grant.services.map(formatService).join(',')}`;
    // A revoke still waiting for the same door and address would undo this grant: the later wins.
    this.revokes.delete(`${grant.door}|${grant.addr}`);
    if (!this.grants.has(key) && this.full('grant', grant.door, grant.addr)) return;
    this.grants.delete(key);
    this.grants.set(key, { item: grant, why });
    this.schedule();
  }

  revoke(revoke: Revoke, why: Record<string, unknown>): void {
    const key = `${revoke.door}|${revoke.addr}`;
    for (const [k, g] of this.grants) if (g.item.door === revoke.door && g.item.addr === revoke.addr) this.grants.delete(k);
    if (!this.revokes.has(key) && this.full('revoke', revoke.door, revoke.addr)) return;
    this.revokes.delete(key);
    this.revokes.set(key, { item: revoke, why });
    this.schedule();
  }

  private full(what: 'grant' | 'revoke', door: string, addr: string): boolean {
    if (this.queued < MAX_QUEUE) return false;
    this.deps.stats.queueDropped++;
    if (this.dropLog.take(this.now())) {
      this.deps.log.error({ event: `${what}-failed`, door, src: addr, reason: `queue full (${MAX_QUEUE} waiting for nft)` }, `${what} dropped: nft is not keeping up`);
    }
    return true;
  }

  /** Resolves when everything queued so far has been applied (or has failed). */
  async flush(): Promise<void> {
    while (this.draining || this.queued) await (this.draining ?? this.drain());
  }

  private schedule(): void {
    if (this.scheduled || this.draining) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  /** One worker: takes what is queued when it starts a batch, so requests made during a retry join the next one. */
  private drain(): Promise<void> {
    if (this.draining) return this.draining;
    if (!this.queued) return Promise.resolve();
    // The worker must not finish before `draining` is assigned: with nothing to await it would clear
    // `draining` first and leave a settled promise behind, and flush() would spin on it forever.
    const worker = async (): Promise<void> => {
      await null;
      try {
        while (this.queued) await this.apply(take(this.grants, MAX_BATCH), take(this.revokes, MAX_BATCH));
      } finally {
        if (this.draining === running) this.draining = undefined;
      }
    };
    const running = worker();
    this.draining = running;
    return running;
  }

  private async apply(grants: Queued<Grant>[], revokes: Queued<Revoke>[]): Promise<void> {
    const { log, stats } = this.deps;
    if (grants.length) {
      const batch = ++this.batches;
      let failed = new Map<Grant, Error>();
      const err = await this.attempt(async () => {
        failed = new Map((await this.deps.firewall().grantEach(grants.map((g) => g.item))).map((f) => [f.item, f.error]));
      });
      for (const { item: g, why } of grants) {
        if (err) {
          log.error({ event: 'grant-failed', door: g.door, src: g.addr, reason: err }, 'grant failed');
          continue;
        }
        const one = failed.get(g);
        if (one) {
          this.failedOne('grant', g.door, g.addr, one);
          continue;
        }
        stats.grants++;
        // What this source can use: a forwarded service or port forward of the other family opens nothing to it.
        const ports = g.services.filter((s) => serviceFamilies(s).includes(g.family)).map(formatService);
        log.info({ event: 'grant', door: g.door, src: g.addr, ports, timeout: g.timeoutSec, batch, ...why }, `OPEN SESAME: ${g.addr} may use ${ports.join(', ') || 'nothing of its address family'} for ${g.timeoutSec}s`);
      }
    }
    if (revokes.length) {
      let failed = new Map<Revoke, Error>();
      const err = await this.attempt(async () => {
        failed = new Map((await this.deps.firewall().revokeEach(revokes.map((r) => r.item))).map((f) => [f.item, f.error]));
      });
      for (const { item: r, why } of revokes) {
        if (err) {
          log.error({ event: 'revoke-failed', door: r.door, src: r.addr, reason: err }, 'revoke failed');
          continue;
        }
        const one = failed.get(r);
        if (one) {
          this.failedOne('revoke', r.door, r.addr, one);
          continue;
        }
        stats.revokes++;
        log.info({ event: 'revoke', door: r.door, src: r.addr, ports: (r.services ?? []).map(formatService), ...why }, `closed ${r.addr}`);
      }
    }
  }

  /**
   * One grant or revoke nft refused while the rest of its batch landed (isolate.ts). A full set is
   * its own event and counter (`set-full`, by door): the door's `set_size` is reached, typically by a
   * flood of one door's sequence; other doors keep working. Logged at most 5 a second.
   */
  private failedOne(what: 'grant' | 'revoke', door: string, addr: string, e: Error): void {
    const { log, stats } = this.deps;
    const full = isSetFull(e);
    if (full) bump(stats.setFull, door);
    else stats.nftFailures++;
    if (!this.dropLog.take(this.now())) return;
    if (full) log.error({ event: 'set-full', door, src: addr, reason: e.message }, `${what} refused: a set of door ${door} is full (raise its set_size, or find who fills it)`);
    else {
      // The table is there (else the batch as a whole would have failed) but a set is not: the config
      // names a door whose sets were never installed.
      const missing = (e as Error & { code?: string }).code === 'ERR_NFT_NOT_FOUND';
      const reason = missing ? `${e.message} (a set of door ${door} is missing: run knockctl install-ruleset to install the config's doors)` : e.message;
      log.error({ event: `${what}-failed`, door, src: addr, reason }, `${what} failed`);
    }
  }

  /** Run with retries and backoff; returns nft's message when every attempt failed. */
  private async attempt(fn: () => Promise<void>): Promise<string | undefined> {
    for (let i = 0; ; i++) {
      try {
        await fn();
        return undefined;
      } catch (e) {
        this.deps.stats.nftFailures++;
        const err = e as Error & { code?: string };
        const last = i >= RETRY_DELAYS_MS.length;
        this.deps.log.warn({ event: 'nft-error', code: err.code, reason: err.message, attempt: i + 1, retry: !last }, last ? 'nft failed; giving up' : 'nft failed, retrying');
        if (last) return err.message;
        // Table or set gone: reinstalling (when configured) is the fix; retry at once if it worked.
        if ((err.code === 'ERR_NO_TABLE' || err.code === 'ERR_NFT_NOT_FOUND') && this.deps.onRulesetMissing && (await this.deps.onRulesetMissing())) continue;
        await new Promise<void>((r) => this.deps.setTimer(r, RETRY_DELAYS_MS[i] as number));
      }
    }
  }

  private now(): number {
    return this.deps.now?.() ?? performance.now();
  }

  /** knockd's command / start_command now, stop_command after cmd_timeout. */
  runHooks(door: Door, addr: string): void {
    const h = door.hooks;
    if (!h.command && !h.startCommand && !h.stopCommand) return;
    // Each hook is a process and each stop_command a timer: bounded. Refusing the start hook too
    // means there is never a start without its stop.
    if (this.hooksPending >= MAX_HOOKS) {
      this.deps.stats.hookFailures++;
      if (this.dropLog.take(this.now())) this.deps.log.warn({ event: 'hook-failed', door: door.name, src: addr, reason: `${MAX_HOOKS} hooks already running or scheduled` }, 'hook not run');
      return;
    }
    const start = h.command ?? h.startCommand;
    if (start) this.hook(door, 'start', start, addr);
    if (h.stopCommand) {
      const stop = h.stopCommand;
      this.hooksPending++;
      this.deps.setTimer(() => {
        this.hooksPending--;
        this.hook(door, 'stop', stop, addr);
      }, h.cmdTimeoutSec * 1000).unref?.();
    }
  }

  private hook(door: Door, which: string, argv: readonly string[], addr: string): void {
    const perPort = argv.some((a) => a.includes('%PORT%') || a.includes('%PROTO%'));
    const targets: (Service | undefined)[] = perPort ? [...door.open] : [door.open[0]];
    for (const p of targets) {
      const vars = { IP: addr, PORT: String(p?.port ?? ''), PROTO: p?.proto ?? '' };
      this.hooksPending++;
      void this.deps.hooks.run(argv, vars, 10000).then((r) => {
        this.hooksPending--;
        if (r.ok) this.deps.log.info({ event: 'hook', door: door.name, src: addr, hook: which }, `${which} command ran`);
        else {
          this.deps.stats.hookFailures++;
          this.deps.log.warn({ event: 'hook-failed', door: door.name, src: addr, hook: which, code: r.code, reason: r.stderr }, `${which} command failed`);
        }
      });
    }
  }
}

function take<T>(m: Map<string, T>, n: number): T[] {
  const out: T[] = [];
  for (const [k, v] of m) {
    if (out.length >= n) break;
    out.push(v);
    m.delete(k);
  }
  return out;
}
