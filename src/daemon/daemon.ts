/**
 * The daemon: capture → decode → knock engine / SPA verifier → batched nft grants. This file is the
 * orchestrator (lifecycle, reload, housekeeping, ruleset repair); each packet kind has its own path:
 * knock-path.ts and spa-path.ts. Hostile input never stops it: decoders and the verifier return
 * reasons that are counted; a last-resort catch per frame logs `internal-error` and goes on. Reload
 * builds the new runtime completely before swapping; on any error the old one keeps running.
 */
import type { Capture, Clock, Frame, Logger, NftRunner, StateStore } from '../core';
import { ConfigError } from '../core';
import type { Config } from '../config';
import { decodeFrame, DuplicateFilter } from '../packet';
import { buildSetLayout } from '../nft';
import type { HookRunner } from '../io/hook-runner';
import { Firewall } from './firewall';
import { Actions } from './actions';
import { buildRuntime, type Runtime, type RuntimeFiles } from './runtime';
import { bump, newStats, type DaemonStats } from './stats';
import { LogBudget } from './log-budget';
import { KnockPath } from './knock-path';
import { SpaPath } from './spa-path';
import { skippableInterfaces } from './capture-skip';
import type { Enslaved } from '../io/enslaved';

export { REPLAY_FILE } from './spa-path';
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
  /** Bridge ports and bond slaves now (io/enslaved.ts): their frames may also be captured on their master. */
  readonly enslaved?: () => Enslaved;
}

export class Daemon {
  readonly stats: DaemonStats;
  private rt!: Runtime;
  private firewall!: Firewall;
  private readonly actions: Actions;
  private readonly budget: LogBudget;
  private readonly knocks: KnockPath;
  private readonly spa: SpaPath;
  private housekeeping: NodeJS.Timeout | undefined;
  private readonly dups = new DuplicateFilter();
  /** One ruleset check or reinstall at a time; grants failing together share it. */
  private rulesetCheck: Promise<boolean> | undefined;
  /** The last ruleset problem logged, so a `log`-only config reports an episode once, not every 5 s. */
  private rulesetProblem = '';
  private stopping = false;
  /** Monotonic ms after which the next health check also counts the input chain's rules. */
  private rulesDue = 0;
  /** The interfaces whose frames the capture drops in the kernel (`name:ifindex,...`), and the last error. */
  private skipped = '';
  private skipError = '';

  constructor(private readonly deps: DaemonDeps) {
    this.stats = newStats(deps.clock.now());
    this.actions = new Actions({
      firewall: () => this.firewall, hooks: deps.hooks, log: deps.log, stats: this.stats,
      setTimer: deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      onRulesetMissing: () => this.checkRuleset('grant'),
      now: () => deps.clock.monotonic(),
    });
    this.budget = new LogBudget(() => deps.clock.monotonic());
    const paths = { runtime: () => this.rt, stats: this.stats, log: deps.log, budget: this.budget, store: deps.store, actions: this.actions, clock: deps.clock };
    this.knocks = new KnockPath(paths);
    this.spa = new SpaPath({ ...paths, isLocal: deps.isLocal });
  }

  get runtime(): Runtime {
    return this.rt;
  }

  /** Build the runtime, load the replay state, start capturing. Throws ConfigError/CaptureError. */
  async start(cfg: Config): Promise<void> {
    this.rt = await this.build(cfg);
    this.firewall = new Firewall(this.deps.nft, cfg.table, buildSetLayout(cfg), this.deps.probe);
    await this.spa.load(cfg.limits.maxReplay);
    await this.deps.capture.start(this.rt.filter, (f) => this.onFrame(f), this.rt.snapLen);
    await this.refreshSkipped();
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
      this.spa.widen(rt.spaWindowMs);
      await this.refreshSkipped();
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
    this.knocks.stop();
    await this.deps.capture.close();
    await this.actions.flush();
    this.tick();
    this.deps.log.info({ event: 'stop' }, 'knockctl daemon stopped; grants expire in the kernel');
  }

  /** Resolves when queued grants/revokes have been applied (tests, shutdown). */
  flush(): Promise<void> {
    return this.actions.flush();
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
      if (spa) this.spa.onSpa(ev, spa);
      else this.knocks.onKnock(ev);
    } catch (e) {
      this.stats.internalErrors++;
      if (this.budget.take()) this.deps.log.error({ event: 'internal-error', reason: (e as Error).message }, 'packet handling failed; continuing');
    }
  }

  private tick(): void {
    const now = this.deps.clock.now();
    const suppressed = this.budget.takeSuppressed();
    if (suppressed) this.deps.log.warn({ event: 'knock-evicted', suppressed, evictions: this.stats.evictions }, `${suppressed} log lines suppressed (rate limit)`);
    this.spa.prune(now);
    const dropped = this.deps.capture.counters?.().dropped;
    if (dropped !== undefined) this.stats.captureDropped = dropped;
    if (!this.stopping) void this.checkRuleset('check', this.deps.clock.monotonic() >= this.rulesDue);
    if (!this.stopping) void this.refreshSkipped();
    this.deps.onStats?.(this.stats, this.rt);
  }

  /**
   * Bridge ports and bond slaves hand the capture on `any` a second copy of packets their master
   * delivers: drop the ones capture-skip.ts allows in the kernel. Rechecked on every housekeeping tick.
   */
  private async refreshSkipped(): Promise<void> {
    const { capture, enslaved, log } = this.deps;
    if (!capture.skipInterfaces || !enslaved) return;
    const skip = skippableInterfaces(enslaved(), this.rt.cfg);
    const key = skip.map((i) => `${i.name}:${i.ifindex}`).join(',');
    if (key === this.skipped) return;
    try {
      await capture.skipInterfaces(skip.map((i) => i.ifindex));
      this.skipped = key;
      this.skipError = '';
      log.info({ event: 'capture-skip', interfaces: skip.map((i) => i.name) },
        skip.length > 0 ? `capture: frames of ${skip.map((i) => `${i.name} (in ${i.master})`).join(', ')} dropped in the kernel; ${skip.length === 1 ? 'its master delivers them' : 'their masters deliver them'}` : 'capture: no interface skipped');
    } catch (e) {
      const reason = (e as Error).message;
      if (reason !== this.skipError) log.warn({ event: 'capture-skip', reason }, 'capture: cannot skip the copies of bridge ports and bond slaves in the kernel; they are dropped after capture');
      this.skipError = reason;
    }
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
