/**
 * The knock side of the packet path: a decoded knock goes to the engine; its outcomes become
 * counters, rate-limited log lines, one-time records, grants, revokes and hooks. Attempts that time
 * out are expired by a timer armed for the engine's next deadline.
 */
import type { Clock, KnockEvent, Logger, StateStore } from '../core';
import { formatConsumed, type KnockOutcome } from '../knock';
import type { Actions } from './actions';
import type { LogBudget } from './log-budget';
import { ONE_TIME_RECORD, type Runtime } from './runtime';
import { bump, type DaemonStats } from './stats';

export interface PacketPathDeps {
  /** The runtime in force (it changes on reload). */
  readonly runtime: () => Runtime;
  readonly stats: DaemonStats;
  readonly log: Logger;
  readonly budget: LogBudget;
  readonly store: StateStore;
  readonly actions: Actions;
  readonly clock: Clock;
}

export class KnockPath {
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;

  constructor(private readonly deps: PacketPathDeps) {}

  onKnock(ev: KnockEvent): void {
    this.deps.stats.knocks++;
    const now = this.deps.clock.monotonic();
    this.handle(this.deps.runtime().engine.onKnock(ev, now));
    this.armExpiry(now);
  }

  /** Stop the expiry timer (daemon stop). */
  stop(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
  }

  private handle(outcomes: readonly KnockOutcome[]): void {
    const { log, stats, budget } = this.deps;
    for (const o of outcomes) {
      if (o.type === 'stage') {
        if (budget.take()) log.info({ event: 'knock-stage', door: o.door, src: o.src, stage: o.stage, of: o.of }, `${o.door}: ${o.src}: Stage ${o.stage} of ${o.of}`);
      } else if (o.type === 'reset') {
        bump(stats.knockResets, o.reason);
        if (o.reason === 'evicted') stats.evictions++;
        else if (budget.take()) log.info({ event: 'knock-reset', door: o.door, src: o.src, stage: o.stage, reason: o.reason }, `${o.door}: ${o.src}: attempt reset (${o.reason})`);
      } else if (o.type === 'ignored') {
        // Only an engine built for log_level debug reports these (daemon -D, like knockd -D).
        if (budget.take('debug')) log.debug({ event: 'knock-ignored', door: o.door, src: o.src, reason: o.reason, detail: o.detail }, `${o.door ?? '-'}: ${o.src}: ${o.detail} ignored (${o.reason})`);
      } else {
        stats.knockSuccesses++;
        log.info({ event: 'knock-success', door: o.door, src: o.src, action: o.action }, `${o.door}: ${o.src}: sequence complete`);
        void this.succeed(o);
      }
    }
  }

  private async succeed(o: Extract<KnockOutcome, { type: 'success' }>): Promise<void> {
    const rt = this.deps.runtime();
    const door = rt.cfg.doors.find((d) => d.name === o.door);
    if (!door) return;
    if (rt.oneTime.has(o.door)) {
      try {
        await this.deps.store.append(ONE_TIME_RECORD, Buffer.from(formatConsumed(o.sequence)));
      } catch (e) {
        this.deps.log.error({ event: 'grant-failed', door: o.door, src: o.src, reason: `cannot record the used one-time sequence: ${(e as Error).message}` }, 'not granted (fail closed)');
        return;
      }
    }
    const { actions } = this.deps;
    if (door.open.length === 0) {
      // A command-only door (knockd's custom commands): nothing to put in the sets.
    } else if (o.action === 'revoke') actions.revoke({ door: o.door, family: o.family, addr: o.src, services: door.open }, { via: 'knock' });
    else actions.grant({ door: o.door, family: o.family, addr: o.src, services: door.open, timeoutSec: door.timeoutSec }, { via: 'knock' });
    actions.runHooks(door, o.src);
  }

  private armExpiry(now: number): void {
    const next = this.deps.runtime().engine.nextDeadline();
    if (next === undefined || next >= this.expiryAt) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryAt = next;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = Infinity;
      const t = this.deps.clock.monotonic();
      this.handle(this.deps.runtime().engine.expire(t));
      this.armExpiry(t);
    }, Math.max(0, next - now) + 1);
    this.expiryTimer.unref();
  }
}
