/**
 * The knock engine: a bounded table of per-(source, door) attempts with knockd's semantics.
 * Pure: time is an argument (`now`, monotonic milliseconds), the daemon owns the one timer.
 * docs/knock-semantics.md is the specification; the tests follow it case by case.
 */
import type { KnockEvent, KnockStep } from '../core';
import type { Config, Door, KnockDoor } from '../config';
import { Attempt, type Candidate, DoorState, PacketView } from './door-state';
import { type KnockCounters, type KnockEngineOptions, type KnockOutcome, type ResetReason, stepKey } from './types';

/** The doors the daemon watches: knock doors in daemon mode (kernel doors live in nftables). */
export function daemonKnockDoors(doors: readonly Door[]): KnockDoor[] {
  return doors.filter((d): d is KnockDoor => d.kind === 'knock' && d.mode === 'daemon');
}

/** Returned for packets that are no knock at all: shared, never mutated. */
const NONE: readonly KnockOutcome[] = Object.freeze([]);
const NO_DOORS: readonly DoorState[] = [];

export class KnockEngine {
  private readonly doors: DoorState[];
  /** Doors with a fixed sequence, by the `stepKey` of their first step. */
  private readonly byFirst = new Map<number, DoorState[]>();
  /** Doors whose sequences change (rotating, one-time): visited by every knock. */
  private readonly dynamic: DoorState[];
  /** Every step of every fixed sequence: a packet to one of these is a knock. */
  private readonly knockKeys = new Set<number>();
  /** Newest attempt of each source; older ones hang off `sibling`. */
  private readonly bySrc = new Map<string, Attempt>();
  private readonly maxSources: number;
  private readonly isLocal: (dst: string) => boolean;
  private size_ = 0;
  private packet = 0;
  private lastNow = -Infinity;
  private readonly stats = { attempts: 0, successes: 0, evicted: 0, timeouts: 0, wrong: 0 };

  /** Throws on a programming error (a dynamic door without its source); hostile input never throws. */
  constructor(doors: readonly Door[], opts: KnockEngineOptions) {
    if (!(Number.isInteger(opts.maxSources) && opts.maxSources >= 1)) throw new RangeError(`maxSources must be an integer >= 1, not ${opts.maxSources}`);
    this.maxSources = opts.maxSources;
    this.isLocal = opts.isLocal;
    this.doors = daemonKnockDoors(doors).map((d) => {
      const source = opts.sources?.get(d.name);
      if (!source && (d.sequence.type === 'rotate' || d.oneTimeFile !== undefined)) throw new TypeError(`door ${d.name} needs a sequence source`);
      return new DoorState(d, source);
    });
    for (const d of this.doors) {
      if (!d.fixed) continue;
      for (const k of d.fixed.keys) this.knockKeys.add(k);
      const first = d.fixed.keys[0] as number;
      this.byFirst.set(first, [...(this.byFirst.get(first) ?? []), d]);
    }
    this.dynamic = this.doors.filter((d) => !d.fixed);
  }

  static fromConfig(config: Config, deps: Omit<KnockEngineOptions, 'maxSources'>): KnockEngine {
    return new KnockEngine(config.doors, { ...deps, maxSources: config.limits.maxSources });
  }

  /** Partial attempts held now. */
  get size(): number {
    return this.size_;
  }

  counters(): KnockCounters {
    return { ...this.stats };
  }

  /** One captured packet. `now` is monotonic ms; a value older than a previous one is taken as that one. */
  onKnock(ev: KnockEvent, now: number): readonly KnockOutcome[] {
    now = this.clamp(now);
    const key = stepKey(ev.dport, ev.proto);
    if (!this.isKnock(key, ev)) return NONE;
    const out: KnockOutcome[] = [];
    const view = new PacketView(ev, this.isLocal);
    const mark = ++this.packet;
    for (let a = this.bySrc.get(ev.src); a; ) {
      const next = a.sibling;
      const door = a.door;
      door.seen = mark;
      if (a.live && door.visible(view)) this.step(a, key, ev, now, out);
      // An eviction in `step` may have removed later attempts; dead ones still point onwards.
      a = next;
      while (a && !a.live) a = a.sibling;
    }
    for (const d of this.byFirst.get(key) ?? NO_DOORS) this.visit(d, mark, key, ev, view, now, out);
    for (const d of this.dynamic) this.visit(d, mark, key, ev, view, now, out);
    return out;
  }

  /** A door this packet has not touched yet may start a new attempt at stage 1. */
  private visit(d: DoorState, mark: number, key: number, ev: KnockEvent, view: PacketView, now: number, out: KnockOutcome[]): void {
    if (d.seen === mark) return;
    d.seen = mark;
    if (d.firstMatch(key, ev.at) && d.visible(view)) this.start(d, key, ev, now, out);
  }

  /** Ends every attempt whose `seq_timeout` has run out by `now`. Costs O(expired + doors). */
  expire(now: number): KnockOutcome[] {
    now = this.clamp(now);
    const out: KnockOutcome[] = [];
    for (const d of this.doors) {
      for (let a = d.head; a && a.deadline <= now; a = d.head) this.end(a, 'timeout', out);
    }
    return out;
  }

  /** The earliest deadline of any attempt (monotonic ms), for the daemon's one timer. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const d of this.doors) if (d.head && (min === undefined || d.head.deadline < min)) min = d.head.deadline;
    return min;
  }

  private clamp(now: number): number {
    if (now > this.lastNow) this.lastNow = now;
    return this.lastNow;
  }

  private isKnock(key: number, ev: KnockEvent): boolean {
    if (this.knockKeys.has(key)) return true;
    if (this.dynamic.length === 0) return false;
    const step: KnockStep = { port: ev.dport, proto: ev.proto };
    return this.dynamic.some((d) => d.covers(step));
  }

  /** A visible knock from a source with an attempt at this door. */
  private step(a: Attempt, key: number, ev: KnockEvent, now: number, out: KnockOutcome[]): void {
    const d = a.door;
    if (a.deadline <= now) {
      this.end(a, 'timeout', out);
      if (d.firstMatch(key, ev.at)) this.start(d, key, ev, now, out);
      return;
    }
    const c = d.follow(a, key, ev.at);
    if (c) {
      a.stage++;
      a.last = key;
      a.prefix?.push(key);
      if (a.stage < c.keys.length) out.push({ type: 'stage', door: d.door.name, src: a.src, family: a.family, stage: a.stage, of: c.keys.length });
      else {
        this.remove(a);
        this.succeed(d, ev, c, out);
      }
      return;
    }
    if (key === a.last) return; // the last knock again, back to back: a TCP SYN retransmit
    if (d.firstMatch(key, ev.at)) {
      this.end(a, 'restarted', out);
      this.start(d, key, ev, now, out);
    } else this.end(a, 'wrong-knock', out);
  }

  private start(d: DoorState, key: number, ev: KnockEvent, now: number, out: KnockOutcome[]): void {
    const c = d.firstMatch(key, ev.at) as Candidate;
    this.stats.attempts++;
    if (c.keys.length === 1) return this.succeed(d, ev, c, out);
    if (this.size_ >= this.maxSources) this.evictOldest(out);
    const a = new Attempt(ev.src, ev.family, d, now, now + d.timeoutMs, key, d.fixed ? undefined : [key]);
    d.append(a);
    a.sibling = this.bySrc.get(ev.src);
    this.bySrc.set(ev.src, a);
    this.size_++;
    out.push({ type: 'stage', door: d.door.name, src: a.src, family: a.family, stage: 1, of: c.keys.length });
  }

  private succeed(d: DoorState, ev: KnockEvent, c: Candidate, out: KnockOutcome[]): void {
    this.stats.successes++;
    d.source?.consume?.(c.steps);
    out.push({ type: 'success', door: d.door.name, src: ev.src, family: ev.family, action: d.door.action, sequence: c.steps });
  }

  /** The oldest partial attempt of all doors: each door's list is in start order, so only heads compete. */
  private evictOldest(out: KnockOutcome[]): void {
    let oldest: Attempt | undefined;
    for (const d of this.doors) if (d.head && (!oldest || d.head.startedAt < oldest.startedAt)) oldest = d.head;
    if (oldest) this.end(oldest, 'evicted', out);
  }

  private end(a: Attempt, reason: ResetReason, out: KnockOutcome[]): void {
    this.remove(a);
    if (reason === 'evicted') this.stats.evicted++;
    else if (reason === 'timeout') this.stats.timeouts++;
    else this.stats.wrong++;
    out.push({ type: 'reset', door: a.door.door.name, src: a.src, family: a.family, stage: a.stage, reason });
  }

  private remove(a: Attempt): void {
    a.live = false;
    a.door.unlink(a);
    this.size_--;
    const head = this.bySrc.get(a.src);
    if (head === a) {
      if (a.sibling) this.bySrc.set(a.src, a.sibling);
      else this.bySrc.delete(a.src);
    } else {
      let p = head;
      while (p && p.sibling !== a) p = p.sibling;
      if (p) p.sibling = a.sibling;
    }
  }
}
