/**
 * The daemon: capture → decode → knock engine / SPA verifier → batched nft grants.
 * Hostile input never stops it: decoders and the verifier return reasons that are counted; a
 * last-resort catch per frame logs `internal-error` and goes on. Reload builds the new runtime
 * completely before swapping; on any error the old one keeps running.
 */
import type { Capture, Clock, Frame, KnockEvent, Logger, NftRunner, StateStore } from '../core';
import { ConfigError, cidrContains, parseAddr, type Cidr } from '../core';
import type { Config } from '../config';
import { decodeFrame, DuplicateFilter } from '../packet';
import { formatConsumed, type KnockOutcome } from '../knock';
import { CostLimiter, ReplayCache, verifyDatagram } from '../spa';
import { buildSetLayout } from '../nft';
import type { HookRunner } from '../io/hook-runner';
import { Firewall } from './firewall';
import { Actions } from './actions';
import { buildRuntime, ONE_TIME_RECORD, type Runtime, type RuntimeFiles, type SpaEndpoint } from './runtime';
import { bump, newStats, type DaemonStats } from './stats';
import { RateLimit } from './rate-limit';

export const REPLAY_FILE = 'spa-replay.bin';
const HOUSEKEEPING_MS = 5000;
/**
 * Counting the input chain's rules (Firewall.health `rules`) costs time that grows with the grants
 * (~0.7 s of nft's CPU with 60,000): after one took T, the next waits RULES_CHECK_SPACING × T, so
 * it runs at most ~2% of the time (each housekeeping tick while cheap; every ~35 s with 60,000 grants).
 */
const RULES_CHECK_SPACING = 50;

export interface DaemonDeps {
  readonly capture: Capture;
  readonly nft: NftRunner;
  /** Runs the periodic health check's listings off the event loop (the nft process); `nft` when absent. */
  readonly probe?: NftRunner;
  readonly clock: Clock;
  readonly log: Logger;
  readonly isLocal: (addr: string) => boolean;
  readonly store: StateStore;
  readonly hooks: HookRunner;
  readonly files: RuntimeFiles;
  /** Called every few seconds with the counters (the status file). */
  readonly onStats?: (stats: DaemonStats, rt: Runtime) => void;
  /** Timer for nft retry pauses and stop_command delays; setTimeout when absent (tests pass a fast one). */
  readonly setTimer?: (fn: () => void, ms: number) => { unref?: () => void };
}

export class Daemon {
  readonly stats: DaemonStats;
  private rt!: Runtime;
  private firewall!: Firewall;
  private replay!: ReplayCache;
  private readonly actions: Actions;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;
  private housekeeping: NodeJS.Timeout | undefined;
  private readonly logLimit = new RateLimit(20, 1000);
  /** Debug lines have their own budget, so they never crowd out the stage and reset lines. */
  private readonly debugLimit = new RateLimit(50, 1000);
  private readonly dups = new DuplicateFilter();
  /** Budget of SPA key agreements per source; kept across reloads. */
  private readonly spaCost = new CostLimiter();
  private suppressed = 0;
  /** One ruleset check or reinstall at a time; grants failing together share it. */
  private rulesetCheck: Promise<boolean> | undefined;
  /** The last ruleset problem logged, so a `log`-only config reports an episode once, not every 5 s. */
  private rulesetProblem = '';
  private stopping = false;
  /** Monotonic ms after which the next health check also counts the input chain's rules. */
  private rulesDue = 0;

  constructor(private readonly deps: DaemonDeps) {
    this.stats = newStats(deps.clock.now());
    this.actions = new Actions({
      firewall: () => this.firewall, hooks: deps.hooks, log: deps.log, stats: this.stats,
      setTimer: deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      onRulesetMissing: () => this.checkRuleset('grant'),
      now: () => deps.clock.monotonic(),
    });
  }

  get runtime(): Runtime {
    return this.rt;
  }

  /** Build the runtime, load the replay state, start capturing. Throws ConfigError/CaptureError. */
  async start(cfg: Config): Promise<void> {
    this.rt = await this.build(cfg);
    this.firewall = new Firewall(this.deps.nft, cfg.table, buildSetLayout(cfg), this.deps.probe);
    await this.loadReplay(cfg);
    await this.deps.capture.start(this.rt.filter, (f) => this.onFrame(f), this.rt.snapLen);
    this.housekeeping = setInterval(() => this.tick(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
    const doors = cfg.doors.map((d) => d.name);
    this.deps.log.info({ event: 'start', table: cfg.table, doors, interfaces: cfg.interfaces, filter: this.rt.filter }, `knockctl daemon started: ${doors.length} door(s)`);
  }

  /** Swap in a new config; on failure the old one keeps running and the errors are logged. */
  async reload(cfg: Config): Promise<boolean> {
    try {
      const rt = await this.build(cfg);
      if (rt.filter !== this.rt.filter || rt.snapLen !== this.rt.snapLen) await this.deps.capture.setFilter(rt.filter, rt.snapLen);
      this.rt = rt;
      this.firewall = new Firewall(this.deps.nft, cfg.table, buildSetLayout(cfg), this.deps.probe);
      // The replay horizon keeps nonces pruned under a smaller window refused after a raise.
      if (rt.spaWindowMs > this.replay.windowMs) this.replay.setWindow(rt.spaWindowMs);
      this.deps.log.info({ event: 'reload', doors: cfg.doors.map((d) => d.name), filter: rt.filter }, 'config reloaded');
      return true;
    } catch (e) {
      const issues = e instanceof ConfigError ? e.issues : [{ path: '', message: (e as Error).message }];
      this.deps.log.error({ event: 'reload-failed', issues }, 'reload failed; the previous config keeps running');
      return false;
    }
  }

  /** The runtime for `cfg` (the checks check-config runs too); its warnings are logged. */
  private async build(cfg: Config): Promise<Runtime> {
    const { runtime, warnings } = await buildRuntime(cfg, this.deps.files, this.deps.store, this.deps.isLocal);
    for (const w of warnings) this.deps.log.warn({ event: 'config-warning', path: w.path, reason: w.message }, w.message);
    return runtime;
  }

  /** Stop capturing and apply what is queued. Grants stay in the kernel and expire there. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.housekeeping) clearInterval(this.housekeeping);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    await this.deps.capture.close();
    await this.actions.flush();
    this.tick();
    this.deps.log.info({ event: 'stop' }, 'knockctl daemon stopped; grants expire in the kernel');
  }

  /** Resolves when queued grants/revokes have been applied (tests, shutdown). */
  flush(): Promise<void> {
    return this.actions.flush();
  }

  private async loadReplay(cfg: Config): Promise<void> {
    const windowMs = Math.max(this.rt.spaWindowMs, 120000);
    const now = this.deps.clock.now();
    let loaded: { cache: ReplayCache; lost: boolean; detail: string };
    try {
      loaded = ReplayCache.load(await this.deps.store.read(REPLAY_FILE), now, windowMs, cfg.limits.maxReplay);
    } catch (e) {
      loaded = { cache: ReplayCache.afterLoss(now, windowMs, cfg.limits.maxReplay), lost: true, detail: (e as Error).message };
    }
    this.replay = loaded.cache;
    const log = loaded.lost ? this.deps.log.error.bind(this.deps.log) : this.deps.log.info.bind(this.deps.log);
    log({ event: 'replay-state', lost: loaded.lost, reason: loaded.detail }, loaded.lost ? 'SPA replay state lost: failing closed' : 'SPA replay state loaded');
  }

  private onFrame(frame: Frame): void {
    this.stats.packets++;
    try {
      if (this.dups.isDuplicate(frame)) {
        this.stats.duplicates++;
        return;
      }
      const d = decodeFrame(frame);
      if (!d.ok) {
        bump(this.stats.decodeErrors, d.reason);
        return;
      }
      const ev = d.value;
      const spa = ev.proto === 'udp' ? this.rt.spaByPort.get(ev.dport) : undefined;
      if (spa) this.onSpa(ev, spa);
      else this.onKnock(ev);
    } catch (e) {
      this.stats.internalErrors++;
      if (this.limited()) this.deps.log.error({ event: 'internal-error', reason: (e as Error).message }, 'packet handling failed; continuing');
    }
  }

  private onKnock(ev: KnockEvent): void {
    this.stats.knocks++;
    const now = this.deps.clock.monotonic();
    this.handle(this.rt.engine.onKnock(ev, now));
    this.armExpiry(now);
  }

  private handle(outcomes: readonly KnockOutcome[]): void {
    const { log } = this.deps;
    for (const o of outcomes) {
      if (o.type === 'stage') {
        if (this.limited()) log.info({ event: 'knock-stage', door: o.door, src: o.src, stage: o.stage, of: o.of }, `${o.door}: ${o.src}: Stage ${o.stage} of ${o.of}`);
      } else if (o.type === 'reset') {
        bump(this.stats.knockResets, o.reason);
        if (o.reason === 'evicted') this.stats.evictions++;
        else if (this.limited()) log.info({ event: 'knock-reset', door: o.door, src: o.src, stage: o.stage, reason: o.reason }, `${o.door}: ${o.src}: attempt reset (${o.reason})`);
      } else if (o.type === 'ignored') {
        // Only an engine built for log_level debug reports these (daemon -D, like knockd -D).
        if (this.limited(this.debugLimit)) log.debug({ event: 'knock-ignored', door: o.door, src: o.src, reason: o.reason, detail: o.detail }, `${o.door ?? '-'}: ${o.src}: ${o.detail} ignored (${o.reason})`);
      } else {
        this.stats.knockSuccesses++;
        log.info({ event: 'knock-success', door: o.door, src: o.src, action: o.action }, `${o.door}: ${o.src}: sequence complete`);
        void this.succeed(o);
      }
    }
  }

  private async succeed(o: Extract<KnockOutcome, { type: 'success' }>): Promise<void> {
    const door = this.rt.cfg.doors.find((d) => d.name === o.door);
    if (!door) return;
    if (this.rt.oneTime.has(o.door)) {
      try {
        await this.deps.store.append(ONE_TIME_RECORD, Buffer.from(formatConsumed(o.sequence)));
      } catch (e) {
        this.deps.log.error({ event: 'grant-failed', door: o.door, src: o.src, reason: `cannot record the used one-time sequence: ${(e as Error).message}` }, 'not granted (fail closed)');
        return;
      }
    }
    if (door.open.length === 0) {
      // A command-only door (knockd's custom commands): nothing to put in the sets.
    } else if (o.action === 'revoke') this.actions.revoke({ door: o.door, family: o.family, addr: o.src, services: door.open }, { via: 'knock' });
    else this.actions.grant({ door: o.door, family: o.family, addr: o.src, services: door.open, timeoutSec: door.timeoutSec }, { via: 'knock' });
    this.actions.runHooks(door, o.src);
  }

  private onSpa(ev: KnockEvent, ep: SpaEndpoint): void {
    const door = ep.door;
    const forUs = door.target ? inTargets(door.target, ev.dst) : this.deps.isLocal(ev.dst);
    const r = !arrivedOn(door.interfaces, ev.ifname)
      ? { ok: false as const, reason: 'wrong-interface', detail: ev.ifname }
      : forUs ? verifyDatagram(ev.payload, { src: ev.src, door, nowMs: ev.at, replay: this.replay, keyring: ep.keyring, limiter: this.spaCost }) : { ok: false as const, reason: 'not-for-us', detail: ev.dst };
    if (!r.ok) {
      bump(this.stats.spaRejected, r.reason);
      if (this.limited()) this.deps.log.warn({ event: 'spa-reject', door: door.name, src: ev.src, reason: r.reason, detail: r.detail }, `SPA rejected: ${r.reason}`);
      // Authentic but denied: the nonce is spent in memory; persist it too so a restart keeps it spent.
      if ('append' in r && r.append) {
        void this.deps.store.append(REPLAY_FILE, r.append).catch((e: Error) => {
          this.deps.log.error({ event: 'replay-state', door: door.name, src: ev.src, reason: e.message }, 'cannot persist the nonce of a denied SPA packet');
        });
      }
      return;
    }
    const a = r.value;
    void this.deps.store.append(REPLAY_FILE, a.append).then(
      () => {
        this.stats.spaAccepted++;
        this.deps.log.info({ event: 'spa-accept', door: door.name, src: ev.src, client: a.client, addr: a.grant.addr }, `SPA from ${a.client} accepted`);
        this.actions.grant(a.grant, { via: 'spa', client: a.client });
        this.actions.runHooks(door, a.grant.addr);
      },
      (e: Error) => {
        bump(this.stats.spaRejected, 'replay-state-unwritable');
        this.deps.log.error({ event: 'replay-state', door: door.name, src: ev.src, reason: e.message }, 'cannot persist the SPA nonce: not granted (fail closed)');
      },
    );
  }

  private limited(limit = this.logLimit): boolean {
    if (limit.take(this.deps.clock.monotonic())) return true;
    this.suppressed++;
    return false;
  }

  private armExpiry(now: number): void {
    const next = this.rt.engine.nextDeadline();
    if (next === undefined || next >= this.expiryAt) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryAt = next;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = Infinity;
      const t = this.deps.clock.monotonic();
      this.handle(this.rt.engine.expire(t));
      this.armExpiry(t);
    }, Math.max(0, next - now) + 1);
    this.expiryTimer.unref();
  }

  private tick(): void {
    const now = this.deps.clock.now();
    if (this.suppressed) {
      this.deps.log.warn({ event: 'knock-evicted', suppressed: this.suppressed, evictions: this.stats.evictions }, `${this.suppressed} log lines suppressed (rate limit)`);
      this.suppressed = 0;
    }
    if (this.replay) {
      this.replay.prune(now);
      if (this.replay.needsCompaction()) {
        void this.deps.store.replace(REPLAY_FILE, this.replay.compact(now)).catch((e: Error) =>
          this.deps.log.error({ event: 'replay-state', reason: e.message }, 'cannot compact the SPA replay state'),
        );
      }
    }
    const dropped = this.deps.capture.counters?.().dropped;
    if (dropped !== undefined) this.stats.captureDropped = dropped;
    if (!this.stopping) void this.checkRuleset('check', this.deps.clock.monotonic() >= this.rulesDue);
    this.deps.onStats?.(this.stats, this.rt);
  }

  /**
   * Is our table intact? If someone deleted or flushed it: log `ruleset-missing`, then reinstall it
   * (config `on_ruleset_missing: reinstall`, the default) or leave it (`log`). True when the table is
   * fine or back. nft itself failing is logged as nft-error, once per distinct message.
   */
  checkRuleset(trigger: 'check' | 'grant', rules = trigger === 'grant'): Promise<boolean> {
    this.rulesetCheck ??= this.repairRuleset(trigger, rules).finally(() => {
      this.rulesetCheck = undefined;
    });
    return this.rulesetCheck;
  }

  private async repairRuleset(trigger: 'check' | 'grant', rules: boolean): Promise<boolean> {
    const { log } = this.deps;
    const cfg = this.rt.cfg;
    const fw = this.firewall;
    const action = cfg.onRulesetMissing ?? 'reinstall';
    try {
      const t0 = this.deps.clock.monotonic();
      const h = await fw.health({ rules });
      if (rules) this.rulesDue = this.deps.clock.monotonic() + RULES_CHECK_SPACING * (this.deps.clock.monotonic() - t0);
      if (h.state === 'ok') {
        this.rulesetProblem = '';
        return true;
      }
      const problem = `${h.state}: ${h.detail}`;
      if (h.state === 'foreign') {
        // Someone else's table under our name: never replace it (it would be deleted with its rules).
        if (problem !== this.rulesetProblem) log.error({ event: 'ruleset-foreign', table: fw.table, reason: h.detail, trigger }, `table inet ${fw.table} is not ours: not touching it (grants fail until our table is back: knockctl install-ruleset, with another "table:" name if that one is taken)`);
        this.rulesetProblem = problem;
        return false;
      }
      if (action === 'log' && problem === this.rulesetProblem) return false;
      this.rulesetProblem = problem;
      log.error({ event: 'ruleset-missing', table: fw.table, state: h.state, reason: h.detail, trigger, action }, `our table was ${h.state === 'missing' ? 'deleted' : 'changed'} by someone else: ${action === 'reinstall' ? 'reinstalling it' : 'not touching it (on_ruleset_missing: log)'}`);
      if (action === 'log') return false;
      const kept = await fw.reinstall(cfg);
      this.rulesetProblem = '';
      log.warn({ event: 'ruleset-installed', table: fw.table, kept, trigger }, `table inet ${fw.table} reinstalled (${kept} grant(s) kept)`);
      return true;
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.message !== this.rulesetProblem) log.error({ event: 'nft-error', code: err.code, reason: err.message, trigger }, 'cannot check or reinstall our table');
      this.rulesetProblem = err.message;
      return false;
    }
  }
}

/** A door's `interfaces` (absent: all) against the interface a frame arrived on. */
function arrivedOn(interfaces: readonly string[] | undefined, ifname: string | undefined): boolean {
  return interfaces === undefined || interfaces.includes('any') || (ifname !== undefined && interfaces.includes(ifname));
}

function inTargets(targets: readonly Cidr[], dst: string): boolean {
  const a = parseAddr(dst);
  return a !== undefined && targets.some((t) => t.family === a.family && cidrContains(t, a.bytes));
}
