/**
 * The engine's partial attempts, stored in typed arrays ("slots") instead of one object per attempt.
 *
 * Why: a flood of spoofed first knocks creates and evicts an attempt per packet. As objects (plus a
 * Map entry and boxed timestamps each) that churn promotes garbage to V8's old space faster than it is
 * collected, and the heap grows far past the table's live size. Here an attempt costs about 40 bytes
 * of typed arrays plus a reference to the source address string the decoder already made, nothing is
 * allocated per attempt, and the arrays grow by doubling up to `capacity` (`limits.max_sources`) and
 * never beyond. Slots are found by source through a seeded hash (a per-process random seed, so an
 * attacker cannot pick spoofed sources that all land in one chain).
 *
 * Pure and synchronous; the engine owns the semantics, this is only storage.
 */
import { randomBytes } from 'node:crypto';
import type { Family } from '../core';

/** No slot: the end of a list or chain. */
export const NIL = -1;

const INITIAL = 1024;

export class AttemptTable {
  /** Most slots ever held (`limits.max_sources`). */
  readonly capacity: number;
  private size_ = 0;
  private allocated = 0;
  private readonly seed: number;

  // Per slot. `gen` changes whenever a slot is freed, so a saved (slot, gen) pair detects reuse.
  door = new Uint16Array(0);
  stage = new Uint8Array(0);
  family = new Uint8Array(0);
  /** `stepKey` of the last accepted knock (back-to-back repeats of it are retransmits). */
  last = new Int32Array(0);
  startedAt = new Float64Array(0);
  deadline = new Float64Array(0);
  /** The door's list, in start order (which is deadline order: `seq_timeout` is constant per door). */
  prev = new Int32Array(0);
  next = new Int32Array(0);
  gen = new Uint32Array(0);
  /** When the slot was added, as a running count: orders a source's attempts newest first. */
  private order = new Float64Array(0);
  private added = 0;
  src: (string | undefined)[] = [];
  /** Hash chain: slots whose source hashes to the same bucket, newest first. */
  private hnext = new Int32Array(0);
  private buckets = new Int32Array(0);
  private mask = 0;
  /** Free slots below `allocated`, as a stack. */
  private free = new Int32Array(0);
  private freeTop = 0;
  /** Accepted knocks so far, only for attempts at doors with several candidate sequences. */
  readonly prefix = new Map<number, number[]>();

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity must be an integer >= 1, not ${capacity}`);
    this.capacity = capacity;
    this.seed = randomBytes(4).readUInt32LE(0);
    this.grow(Math.min(INITIAL, capacity));
  }

  get size(): number {
    return this.size_;
  }

  /** A new slot for `src` at `door`, first in its source's chain. The caller makes room first: throws when full. */
  add(src: string, family: Family, door: number, now: number, deadline: number, key: number): number {
    if (this.size_ >= this.capacity) throw new RangeError('attempt table full');
    if (this.freeTop === 0) {
      if (this.allocated === this.door.length) this.grow(Math.min(this.capacity, this.door.length * 2));
      this.free[this.freeTop++] = this.allocated++;
    }
    const s = this.free[--this.freeTop] as number;
    this.door[s] = door;
    this.stage[s] = 1;
    this.family[s] = family;
    this.last[s] = key;
    this.startedAt[s] = now;
    this.deadline[s] = deadline;
    this.prev[s] = NIL;
    this.next[s] = NIL;
    this.src[s] = src;
    this.order[s] = ++this.added;
    const b = this.hash(src) & this.mask;
    this.hnext[s] = this.buckets[b] as number;
    this.buckets[b] = s;
    this.size_++;
    return s;
  }

  /** Frees a slot (already unlinked from its door's list). */
  remove(s: number): void {
    const src = this.src[s] as string;
    const b = this.hash(src) & this.mask;
    let p = this.buckets[b] as number;
    if (p === s) this.buckets[b] = this.hnext[s] as number;
    else {
      while (p !== NIL && this.hnext[p] !== s) p = this.hnext[p] as number;
      if (p !== NIL) this.hnext[p] = this.hnext[s] as number;
    }
    this.src[s] = undefined;
    this.gen[s] = ((this.gen[s] as number) + 1) >>> 0;
    this.prefix.delete(s);
    this.free[this.freeTop++] = s;
    this.size_--;
  }

  /** The slots of `src`, newest first, into `out` (cleared first); returns `out`. */
  slotsOf(src: string, out: number[]): number[] {
    out.length = 0;
    for (let s = this.buckets[this.hash(src) & this.mask] as number; s !== NIL; s = this.hnext[s] as number) {
      if (this.src[s] === src) out.push(s);
    }
    if (out.length > 1) out.sort((a, b) => (this.order[b] as number) - (this.order[a] as number));
    return out;
  }

  familyOf(s: number): Family {
    return this.family[s] === 6 ? 6 : 4;
  }

  /** A seeded 32-bit string hash (FNV-1a style mixing with a final avalanche). */
  private hash(str: string): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  }

  private grow(n: number): void {
    const copy = <T extends Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.door = copy(this.door, (k) => new Uint16Array(k));
    this.stage = copy(this.stage, (k) => new Uint8Array(k));
    this.family = copy(this.family, (k) => new Uint8Array(k));
    this.last = copy(this.last, (k) => new Int32Array(k));
    this.startedAt = copy(this.startedAt, (k) => new Float64Array(k));
    this.deadline = copy(this.deadline, (k) => new Float64Array(k));
    this.prev = copy(this.prev, (k) => new Int32Array(k));
    this.next = copy(this.next, (k) => new Int32Array(k));
    this.gen = copy(this.gen, (k) => new Uint32Array(k));
    this.order = copy(this.order, (k) => new Float64Array(k));
    this.free = copy(this.free, (k) => new Int32Array(k));
    this.hnext = new Int32Array(n);
    while (this.src.length < n) this.src.push(undefined);
    // Buckets: a power of two at least twice the slots, rebuilt from the live slots.
    let nb = 1;
    while (nb < n * 2) nb <<= 1;
    this.buckets = new Int32Array(nb).fill(NIL);
    this.mask = nb - 1;
    for (let s = 0; s < this.allocated; s++) {
      const src = this.src[s];
      if (src === undefined) continue;
      const b = this.hash(src) & this.mask;
      this.hnext[s] = this.buckets[b] as number;
      this.buckets[b] = s;
    }
  }
}
