/**
 * One knock door as the engine sees it: who and what may knock on it, its candidate sequences, and
 * its list of partial attempts (slots of the engine's AttemptTable) in start order, which is also
 * deadline order: `seq_timeout` is constant per door and counts from the first knock.
 */
import { type KnockEvent, type KnockStep, cidrContains, parseAddr, tcpFlagsMatch } from '../core';
import type { KnockDoor } from '../config';
import { type Sequence, type SequenceSource, stepKey } from './types';
import { type AttemptTable, NIL } from './attempt-table';

/** A sequence with its steps packed as `stepKey` numbers. */
export interface Candidate {
  readonly steps: Sequence;
  readonly keys: readonly number[];
}

/** Lazily decoded addresses of one packet, shared by every door the packet visits. */
export class PacketView {
  private srcBytes: Uint8Array | null | undefined;
  private dstBytes: Uint8Array | null | undefined;
  private local: boolean | undefined;
  constructor(readonly ev: KnockEvent, private readonly isLocal: (dst: string) => boolean) {}
  src(): Uint8Array | null {
    if (this.srcBytes === undefined) this.srcBytes = parseAddr(this.ev.src)?.bytes ?? null;
    return this.srcBytes;
  }
  dst(): Uint8Array | null {
    if (this.dstBytes === undefined) this.dstBytes = parseAddr(this.ev.dst)?.bytes ?? null;
    return this.dstBytes;
  }
  toLocal(): boolean {
    if (this.local === undefined) this.local = this.isLocal(this.ev.dst);
    return this.local;
  }
}

function pack(steps: Sequence): Candidate {
  return { steps, keys: steps.map((s) => stepKey(s.port, s.proto)) };
}

export class DoorState {
  /** Oldest and newest partial attempt (slots of the engine's AttemptTable), NIL when none. */
  head = NIL;
  tail = NIL;
  /** Packet number that last visited this door (so one packet visits a door once). */
  seen = 0;
  readonly timeoutMs: number;
  readonly fixed: Candidate | undefined;
  private readonly anyInterface: boolean;
  private cacheOf: readonly Sequence[] | undefined;
  private cache: { all: readonly Candidate[]; first: ReadonlyMap<number, Candidate> } | undefined;

  constructor(readonly door: KnockDoor, readonly source: SequenceSource | undefined, readonly index: number) {
    this.timeoutMs = door.seqTimeoutSec * 1000;
    this.fixed = source === undefined && door.sequence.type === 'static' ? pack(door.sequence.steps) : undefined;
    this.anyInterface = door.interfaces === undefined || door.interfaces.includes('any');
  }

  /**
   * Whether this packet concerns the door at all. A TCP knock whose flags fail the door's filter is
   * ignored by the door, as knockd does: it neither advances nor breaks an attempt.
   */
  visible(view: PacketView): boolean {
    const ev = view.ev;
    const door = this.door;
    if (!this.anyInterface && (ev.ifname === undefined || !door.interfaces?.includes(ev.ifname))) return false;
    if (ev.proto === 'tcp' && !tcpFlagsMatch(door.tcpFlags, ev.tcpFlags)) return false;
    if (door.target) {
      const dst = view.dst();
      if (!dst || !door.target.some((c) => cidrContains(c, dst))) return false;
    } else if (!view.toLocal()) return false;
    if (door.from) {
      const src = view.src();
      if (!src || !door.from.some((c) => cidrContains(c, src))) return false;
    }
    return true;
  }

  /** Debug only: why `visible(view)` is false (the interface when no other filter explains it). */
  hiddenBecause(view: PacketView): 'interface' | 'tcp-flags' | 'target' | 'from' {
    const ev = view.ev;
    const door = this.door;
    if (ev.proto === 'tcp' && !tcpFlagsMatch(door.tcpFlags, ev.tcpFlags)) return 'tcp-flags';
    const dst = view.dst();
    if (door.target ? !dst || !door.target.some((c) => cidrContains(c, dst)) : !view.toLocal()) return 'target';
    const src = view.src();
    if (door.from && (!src || !door.from.some((c) => cidrContains(c, src)))) return 'from';
    return 'interface';
  }

  /** Whether `key` is in this door's fixed sequence, or covered by its source. */
  knows(key: number, step: KnockStep): boolean {
    return this.fixed ? this.fixed.keys.includes(key) : this.covers(step);
  }

  /** True when a knock to `step` is one of this door's knocks at any time (for dynamic doors: per source). */
  covers(step: KnockStep): boolean {
    return this.source !== undefined && this.source.covers(step);
  }

  private candidates(atMs: number): { all: readonly Candidate[]; first: ReadonlyMap<number, Candidate> } {
    const seqs = (this.source as SequenceSource).sequences(atMs);
    if (seqs !== this.cacheOf || !this.cache) {
      const all = seqs.filter((s) => s.length > 0).map(pack);
      const first = new Map<number, Candidate>();
      for (const c of all) if (!first.has(c.keys[0] as number)) first.set(c.keys[0] as number, c);
      this.cacheOf = seqs;
      this.cache = { all, first };
    }
    return this.cache;
  }

  /** The candidate that starts with `key`, if any. */
  firstMatch(key: number, atMs: number): Candidate | undefined {
    if (this.fixed) return this.fixed.keys[0] === key ? this.fixed : undefined;
    return this.candidates(atMs).first.get(key);
  }

  /**
   * The candidate whose next step after an attempt's `stage` accepted knocks is `key`, if any.
   * `prefix` (the accepted knocks) is needed only by doors without a fixed sequence.
   */
  follow(stage: number, prefix: readonly number[] | undefined, key: number, atMs: number): Candidate | undefined {
    if (this.fixed) return this.fixed.keys[stage] === key ? this.fixed : undefined;
    const p = prefix as readonly number[];
    for (const c of this.candidates(atMs).all) {
      if (c.keys.length <= stage || c.keys[stage] !== key) continue;
      let same = true;
      for (let i = 0; i < stage && same; i++) same = c.keys[i] === p[i];
      if (same) return c;
    }
    return undefined;
  }

  /** Puts slot `s` at the end of this door's list. */
  append(t: AttemptTable, s: number): void {
    t.prev[s] = this.tail;
    t.next[s] = NIL;
    if (this.tail !== NIL) t.next[this.tail] = s;
    else this.head = s;
    this.tail = s;
  }

  unlink(t: AttemptTable, s: number): void {
    const p = t.prev[s] as number;
    const n = t.next[s] as number;
    if (p !== NIL) t.next[p] = n;
    else this.head = n;
    if (n !== NIL) t.prev[n] = p;
    else this.tail = p;
    t.prev[s] = t.next[s] = NIL;
  }
}
