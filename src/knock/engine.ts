/**
 * The knock engine: a bounded table of per-(source, door) attempts with knockd's semantics.
 * Pure: time is an argument (`now`, monotonic milliseconds), the daemon owns the one timer.
 * docs/knock-semantics.md is the specification; the tests follow it case by case.
 */
import type { KnockEvent, KnockStep } from '../core';
import type { Config, Door, KnockDoor } from '../config';
import { type Candidate, DoorState, PacketView } from './door-state';
import { AttemptTable, NIL } from './attempt-table';
import { type IgnoreReason, type KnockCounters, type KnockEngineOptions, type KnockOutcome, type ResetReason, stepKey } from './types';

/** The doors the daemon watches: knock doors in daemon mode (kernel doors live in nftables). */
export function daemonKnockDoors(doors: readonly Door[]): KnockDoor[] {
  return doors.filter((d): d is KnockDoor => d.kind === 'knock' && d.mode === 'daemon');
}

/** Returned for packets that are no knock at all: shared, never mutated. */
const NONE: readonly KnockOutcome[] = Object.freeze([]);
const NO_DOORS: readonly DoorState[] = [];

function ignored(d: DoorState | undefined, ev: KnockEvent, reason: IgnoreReason, detail?: string): KnockOutcome {
  return { type: 'ignored', door: d?.door.name, src: ev.src, reason, detail: detail ?? `${ev.dport}/${ev.proto}` };
}

export class KnockEngine {
  private readonly doors: DoorState[];
  /** Doors with a fixed sequence, by the `stepKey` of their first step. */
  private readonly byFirst = new Map<number, DoorState[]>();
  /** Doors whose sequences change (rotating, one-time): visited by every knock. */
  private readonly dynamic: DoorState[];
  /** Every step of every fixed sequence: a packet to one of these is a knock. */
  private readonly knockKeys = new Set<number>();
  /** Every partial attempt; bounded by `maxSources`. */
  private readonly table: AttemptTable;
  private readonly isLocal: (dst: string) => boolean;
  /** Report `ignored` outcomes (debug). Off: nothing is allocated for packets that do nothing. */
  private readonly explain: boolean;
  private packet = 0;
  private lastNow = -Infinity;
  private readonly stats = { attempts: 0, successes: 0, evicted: 0, timeouts: 0, wrong: 0 };
  /** Scratch for one packet: the source's slots and their generations (reused, never kept). */
  private readonly slots: number[] = [];
  private readonly gens: number[] = [];

  /** Throws on a programming error (a dynamic door without its source); hostile input never throws. */
  constructor(doors: readonly Door[], opts: KnockEngineOptions) {
    if (!(Number.isInteger(opts.maxSources) && opts.maxSources >= 1)) throw new RangeError(`maxSources must be an integer >= 1, not ${opts.maxSources}`);
    this.table = new AttemptTable(opts.maxSources);
    this.isLocal = opts.isLocal;
    this.explain = opts.explain === true;
    this.doors = daemonKnockDoors(doors).map((d, i) => {
      const source = opts.sources?.get(d.name);
      if (!source && (d.sequence.type === 'rotate' || d.oneTimeFile !== undefined)) throw new TypeError(`door ${d.name} needs a sequence source`);
      return new DoorState(d, source, i);
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
    return new KnockEngine(config.doors, { explain: config.logLevel === 'debug', ...deps, maxSources: config.limits.maxSources });
  }

  /** Partial attempts held now. */
  get size(): number {
    return this.table.size;
  }

  counters(): KnockCounters {
    return { ...this.stats };
  }

  /** One captured packet. `now` is monotonic ms; a value older than a previous one is taken as that one. */
  onKnock(ev: KnockEvent, now: number): readonly KnockOutcome[] {
    now = this.clamp(now);
    const key = stepKey(ev.dport, ev.proto);
    if (!this.isKnock(key, ev)) return this.explain ? [ignored(undefined, ev, 'not-a-knock')] : NONE;
    const out: KnockOutcome[] = [];
    const view = new PacketView(ev, this.isLocal);
    const mark = ++this.packet;
    const t = this.table;
    // The source's attempts, newest first. An eviction while stepping one may free (and a start
    // reuse) a later one's slot: the saved generation tells.
    const slots = t.slotsOf(ev.src, this.slots);
    const gens = this.gens;
    gens.length = 0;
    for (const s of slots) gens.push(t.gen[s] as number);
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i] as number;
      if (t.gen[s] !== gens[i]) continue;
      const door = this.doors[t.door[s] as number] as DoorState;
      door.seen = mark;
      if (door.visible(view)) this.step(s, door, key, ev, now, out);
      else if (this.explain) out.push(ignored(door, ev, door.hiddenBecause(view)));
    }
    for (const d of this.byFirst.get(key) ?? NO_DOORS) this.visit(d, mark, key, ev, view, now, out);
    for (const d of this.dynamic) this.visit(d, mark, key, ev, view, now, out);
    if (this.explain && out.length === 0) this.explainNothing(key, ev, view, out);
    return out;
  }

  /**
   * Debug: a knock of some door that did nothing at all (a source's attempt or a first knock always
   * yields an outcome, so no door has been explained yet); say why, door by door.
   */
  private explainNothing(key: number, ev: KnockEvent, view: PacketView, out: KnockOutcome[]): void {
    const step: KnockStep = { port: ev.dport, proto: ev.proto };
    for (const d of this.doors) {
      if (!d.knows(key, step)) continue;
      if (!d.visible(view)) out.push(ignored(d, ev, d.hiddenBecause(view)));
      else {
        const why = d.source?.explain?.(step, ev.at);
        out.push(ignored(d, ev, why?.reason ?? 'not-first', why?.detail));
      }
    }
  }

  /** A door this packet has not touched yet may start a new attempt at stage 1. */
  private visit(d: DoorState, mark: number, key: number, ev: KnockEvent, view: PacketView, now: number, out: KnockOutcome[]): void {
    if (d.seen === mark) return;
    d.seen = mark;
    if (!d.firstMatch(key, ev.at)) return;
    if (d.visible(view)) this.start(d, key, ev, now, out);
    else if (this.explain) out.push(ignored(d, ev, d.hiddenBecause(view)));
  }

  /** Ends every attempt whose `seq_timeout` has run out by `now`. Costs O(expired + doors). */
  expire(now: number): KnockOutcome[] {
    now = this.clamp(now);
    const out: KnockOutcome[] = [];
    const t = this.table;
    for (const d of this.doors) {
      for (let s = d.head; s !== NIL && (t.deadline[s] as number) <= now; s = d.head) this.end(s, d, 'timeout', out);
    }
    return out;
  }

  /** The earliest deadline of any attempt (monotonic ms), for the daemon's one timer. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const d of this.doors) {
      if (d.head === NIL) continue;
      const dl = this.table.deadline[d.head] as number;
      if (min === undefined || dl < min) min = dl;
    }
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

  /** A visible knock from a source with an attempt (slot `s`) at door `d`. */
  private step(s: number, d: DoorState, key: number, ev: KnockEvent, now: number, out: KnockOutcome[]): void {
    const t = this.table;
    if ((t.deadline[s] as number) <= now) {
      this.end(s, d, 'timeout', out);
      if (d.firstMatch(key, ev.at)) this.start(d, key, ev, now, out);
      return;
    }
    const stage = t.stage[s] as number;
    const prefix = d.fixed ? undefined : t.prefix.get(s);
    const c = d.follow(stage, prefix, key, ev.at);
    if (c) {
      t.stage[s] = stage + 1;
      t.last[s] = key;
      prefix?.push(key);
      if (stage + 1 < c.keys.length) out.push({ type: 'stage', door: d.door.name, src: ev.src, family: t.familyOf(s), stage: stage + 1, of: c.keys.length });
      else {
        this.remove(s, d);
        this.succeed(d, ev, c, out);
      }
      return;
    }
    if (key === t.last[s]) {
      // The last knock again, back to back: a TCP SYN retransmit.
      if (this.explain) out.push(ignored(d, ev, 'repeated'));
      return;
    }
    if (d.firstMatch(key, ev.at)) {
      this.end(s, d, 'restarted', out);
      this.start(d, key, ev, now, out);
    } else this.end(s, d, 'wrong-knock', out);
  }

  private start(d: DoorState, key: number, ev: KnockEvent, now: number, out: KnockOutcome[]): void {
    const c = d.firstMatch(key, ev.at) as Candidate;
    this.stats.attempts++;
    if (c.keys.length === 1) return this.succeed(d, ev, c, out);
    const t = this.table;
    if (t.size >= t.capacity) this.evictOldest(out);
    const s = t.add(ev.src, ev.family, d.index, now, now + d.timeoutMs, key);
    if (!d.fixed) t.prefix.set(s, [key]);
    d.append(t, s);
    out.push({ type: 'stage', door: d.door.name, src: ev.src, family: ev.family, stage: 1, of: c.keys.length });
  }

  private succeed(d: DoorState, ev: KnockEvent, c: Candidate, out: KnockOutcome[]): void {
    this.stats.successes++;
    d.source?.consume?.(c.steps);
    out.push({ type: 'success', door: d.door.name, src: ev.src, family: ev.family, action: d.door.action, sequence: c.steps });
  }

  /** The oldest partial attempt of all doors: each door's list is in start order, so only heads compete. */
  private evictOldest(out: KnockOutcome[]): void {
    const t = this.table;
    let oldest: DoorState | undefined;
    for (const d of this.doors) {
      if (d.head !== NIL && (!oldest || (t.startedAt[d.head] as number) < (t.startedAt[oldest.head] as number))) oldest = d;
    }
    if (oldest) this.end(oldest.head, oldest, 'evicted', out);
  }

  private end(s: number, d: DoorState, reason: ResetReason, out: KnockOutcome[]): void {
    const t = this.table;
    const src = t.src[s] as string;
    const family = t.familyOf(s);
    const stage = t.stage[s] as number;
    this.remove(s, d);
    if (reason === 'evicted') this.stats.evicted++;
    else if (reason === 'timeout') this.stats.timeouts++;
    else this.stats.wrong++;
    out.push({ type: 'reset', door: d.door.name, src, family, stage, reason });
  }

  private remove(s: number, d: DoorState): void {
    d.unlink(this.table, s);
    this.table.remove(s);
  }
}
