/**
 * The SPA side of the packet path: a datagram to an SPA door's port is checked for its interface and
 * destination, verified by the door's format (spa/dispatch.ts), and its nonce (or fwknop digest) is
 * made durable before the grant, so a restart cannot accept it again. Owns the replay cache: loaded
 * at start (failing closed when it cannot be read), widened on reload, pruned and compacted by
 * housekeeping.
 */
import type { KnockEvent } from '../core';
import { cidrContains, parseAddr, type Cidr } from '../core';
import { CostLimiter, ReplayCache, verifyDatagram } from '../spa';
import type { PacketPathDeps } from './knock-path';
import type { SpaEndpoint } from './runtime';
import { bump } from './stats';

export const REPLAY_FILE = 'spa-replay.bin';

export class SpaPath {
  private replay!: ReplayCache;
  /** Budget of SPA key agreements per source; kept across reloads. */
  private readonly spaCost = new CostLimiter();

  constructor(private readonly deps: PacketPathDeps & { readonly isLocal: (addr: string) => boolean }) {}

  /** Load the replay state for the runtime in force; unreadable state fails closed (logged). */
  async load(maxReplay: number): Promise<void> {
    const windowMs = Math.max(this.deps.runtime().spaWindowMs, 120000);
    const now = this.deps.clock.now();
    let loaded: { cache: ReplayCache; lost: boolean; detail: string };
    try {
      loaded = ReplayCache.load(await this.deps.store.read(REPLAY_FILE), now, windowMs, maxReplay);
    } catch (e) {
      loaded = { cache: ReplayCache.afterLoss(now, windowMs, maxReplay), lost: true, detail: (e as Error).message };
    }
    this.replay = loaded.cache;
    const { log } = this.deps;
    const write = loaded.lost ? log.error.bind(log) : log.info.bind(log);
    write({ event: 'replay-state', lost: loaded.lost, reason: loaded.detail }, loaded.lost ? 'SPA replay state lost: failing closed' : 'SPA replay state loaded');
  }

  /** A reload's longest SPA window: the replay horizon keeps nonces pruned under a smaller window refused after a raise. */
  widen(spaWindowMs: number): void {
    if (spaWindowMs > this.replay.windowMs) this.replay.setWindow(spaWindowMs);
  }

  /** Housekeeping: forget expired nonces, and rewrite the file when it has grown stale. */
  prune(now: number): void {
    if (!this.replay) return;
    this.replay.prune(now);
    if (this.replay.needsCompaction()) {
      void this.deps.store.replace(REPLAY_FILE, this.replay.compact(now)).catch((e: Error) =>
        this.deps.log.error({ event: 'replay-state', reason: e.message }, 'cannot compact the SPA replay state'),
      );
    }
  }

  onSpa(ev: KnockEvent, ep: SpaEndpoint): void {
    const { log, stats, store, actions } = this.deps;
    const door = ep.door;
    const forUs = door.target ? inTargets(door.target, ev.dst) : this.deps.isLocal(ev.dst);
    const r = !arrivedOn(door.interfaces, ev.ifname)
      ? { ok: false as const, reason: 'wrong-interface', detail: ev.ifname }
      : forUs ? verifyDatagram(ev.payload, { src: ev.src, door, nowMs: ev.at, replay: this.replay, keyring: ep.keyring, limiter: this.spaCost }) : { ok: false as const, reason: 'not-for-us', detail: ev.dst };
    if (!r.ok) {
      bump(stats.spaRejected, r.reason);
      if (this.deps.budget.take()) log.warn({ event: 'spa-reject', door: door.name, src: ev.src, reason: r.reason, detail: r.detail }, `SPA rejected: ${r.reason}`);
      // Authentic but denied: the nonce is spent in memory; persist it too so a restart keeps it spent.
      if ('append' in r && r.append) {
        void store.append(REPLAY_FILE, r.append).catch((e: Error) => {
          log.error({ event: 'replay-state', door: door.name, src: ev.src, reason: e.message }, 'cannot persist the nonce of a denied SPA packet');
        });
      }
      return;
    }
    const a = r.value;
    void store.append(REPLAY_FILE, a.append).then(
      () => {
        stats.spaAccepted++;
        log.info({ event: 'spa-accept', door: door.name, src: ev.src, client: a.client, addr: a.grant.addr }, `SPA from ${a.client} accepted`);
        actions.grant(a.grant, { via: 'spa', client: a.client });
        actions.runHooks(door, a.grant.addr);
      },
      (e: Error) => {
        bump(stats.spaRejected, 'replay-state-unwritable');
        log.error({ event: 'replay-state', door: door.name, src: ev.src, reason: e.message }, 'cannot persist the SPA nonce: not granted (fail closed)');
      },
    );
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
