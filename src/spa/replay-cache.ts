/**
 * Replay cache: every nonce accepted within the time window, bounded, persisted append-only.
 * Pure: it returns the bytes to append or to write in place; the daemon does the I/O (StateStore).
 *
 * Record (41 bytes, docs/spa-protocol.md "Replay state file"):
 *   0   1  kind: 1 = nonce seen, 2 = blackout after lost state, 3 = horizon (nonces at or below were pruned)
 *   1  24  nonce (zeros for kinds 2 and 3)
 *   25  8  uint64 BE ms: the packet's timestamp (nonce), or the last refused timestamp (kinds 2 and 3)
 *   33  8  SHA-256("nftknock-replay v1\0" || bytes 0..33)[0..8], so a torn or flipped record shows
 */
import { createHash } from 'node:crypto';
import { type Outcome, ok, reject } from '../core';
import { NONCE_LEN } from './wire';

export const RECORD_LEN = 41;
const KIND_NONCE = 1;
const KIND_BLACKOUT = 2;
const KIND_HORIZON = 3;
const CHECK_CONTEXT = Buffer.from('nftknock-replay v2\0', 'latin1');

export type ReplayRejectReason = 'replayed' | 'replay-cache-full' | 'replay-state-lost' | 'stale';

export interface ReplayLoad {
  readonly cache: ReplayCache;
  /** True when state may be missing: the cache refuses timestamps up to `blackoutTsMs`. */
  readonly lost: boolean;
  /** What was found, for the log. */
  readonly detail: string;
}

function encodeRecord(kind: number, nonce: Uint8Array | undefined, tsMs: number): Uint8Array {
  const r = new Uint8Array(RECORD_LEN);
  r[0] = kind;
  if (nonce) r.set(nonce, 1);
  new DataView(r.buffer).setBigUint64(25, BigInt(tsMs));
  r.set(checkOf(r.subarray(0, 33)), 33);
  return r;
}

function checkOf(b: Uint8Array): Uint8Array {
  return createHash('sha256').update(CHECK_CONTEXT).update(b).digest().subarray(0, 8);
}

export class ReplayCache {
  /** nonce (base64) → packet timestamp, ms. */
  private readonly seen = new Map<string, number>();
  private blackout = -1;
  /**
   * Every nonce with a timestamp at or below this was pruned (or never kept): such timestamps are
   * refused whatever the window says, so raising a window never re-opens a pruned replay.
   */
  private horizon = -1;
  private appended = 0;
  private window: number;

  /**
   * `windowMs`: the largest SPA window of any door (a nonce is kept until its timestamp is older
   * than that); `maxEntries`: config `limits.max_replay`.
   */
  constructor(windowMs: number, readonly maxEntries: number) {
    this.window = windowMs;
  }

  get windowMs(): number {
    return this.window;
  }

  /** A reload changed the largest window. Growing it keeps the horizon: nothing pruned comes back. */
  setWindow(windowMs: number): void {
    this.window = windowMs;
  }

  /** Timestamps at or below this are refused as `stale` (pruned); -1 when none. */
  get horizonTsMs(): number {
    return this.horizon;
  }

  /** Timestamps at or below this are refused (state was lost); -1 when none. */
  get blackoutTsMs(): number {
    return this.blackout;
  }

  get size(): number {
    return this.seen.size;
  }

  /** May a packet with this nonce and timestamp be accepted now? Does not record it. */
  check(nonce: Uint8Array, tsMs: number, nowMs: number): Outcome<void, ReplayRejectReason> {
    if (tsMs <= this.blackout) return reject('replay-state-lost', 'timestamp falls in a window whose nonces were lost');
    if (tsMs <= this.horizon) return reject('stale', 'timestamp at or before the replay horizon (nonces that old are no longer kept)');
    if (this.seen.has(key(nonce))) return reject('replayed');
    if (this.seen.size >= this.maxEntries) {
      this.prune(nowMs);
      if (this.seen.size >= this.maxEntries) return reject('replay-cache-full', `${this.seen.size} nonces within the window`);
    }
    return ok(undefined);
  }

  /** Remember a nonce; returns the record to append (fsync'd) before the grant is applied. */
  record(nonce: Uint8Array, tsMs: number): Uint8Array {
    if (nonce.length !== NONCE_LEN) throw new RangeError(`a nonce is ${NONCE_LEN} bytes`);
    this.seen.set(key(nonce), tsMs);
    this.appended++;
    return encodeRecord(KIND_NONCE, nonce, tsMs);
  }

  /** Forget nonces whose timestamps no packet could still carry. Returns how many went. */
  prune(nowMs: number): number {
    let n = 0;
    this.horizon = Math.max(this.horizon, nowMs - this.window - 1);
    for (const [k, ts] of this.seen) {
      if (ts <= this.horizon) {
        this.seen.delete(k);
        n++;
      }
    }
    if (this.blackout >= 0 && this.blackout + this.windowMs < nowMs) this.blackout = -1;
    return n;
  }

  /** True when the file holds clearly more records than the live state: time to `compact`. */
  needsCompaction(): boolean {
    return this.appended > Math.max(1024, this.seen.size);
  }

  /** Prune, then the whole live state as a file's new content (for StateStore.replace). */
  compact(nowMs: number): Uint8Array {
    this.prune(nowMs);
    const out = new Uint8Array((this.seen.size + (this.blackout >= 0 ? 1 : 0) + 1) * RECORD_LEN);
    out.set(encodeRecord(KIND_HORIZON, undefined, Math.max(0, this.horizon)), 0);
    let off = RECORD_LEN;
    if (this.blackout >= 0) {
      out.set(encodeRecord(KIND_BLACKOUT, undefined, this.blackout), off);
      off += RECORD_LEN;
    }
    for (const [k, ts] of this.seen) {
      out.set(encodeRecord(KIND_NONCE, Buffer.from(k, 'base64'), ts), off);
      off += RECORD_LEN;
    }
    this.appended = 0;
    return out;
  }

  /** Refuse timestamps up to `nowMs + windowMs`: any packet seen before the loss carried one. */
  markLost(nowMs: number): void {
    this.blackout = Math.max(this.blackout, nowMs + this.windowMs);
  }

  /**
   * Rebuild from a state file. `bytes` undefined: no file (first start), nothing lost. A torn or
   * corrupt record, or more live nonces than `maxEntries`, means lost state: keep what verifies
   * and refuse every timestamp that could belong to the lost part (fail closed).
   */
  static load(bytes: Uint8Array | undefined, nowMs: number, windowMs: number, maxEntries: number): ReplayLoad {
    const cache = new ReplayCache(windowMs, maxEntries);
    if (bytes === undefined) return { cache, lost: false, detail: 'no replay state file (first start)' };
    const problems: string[] = [];
    const whole = Math.floor(bytes.length / RECORD_LEN);
    if (bytes.length % RECORD_LEN !== 0) problems.push(`torn last record (${bytes.length % RECORD_LEN} stray bytes)`);
    let bad = 0;
    for (let i = 0; i < whole; i++) {
      const r = bytes.subarray(i * RECORD_LEN, (i + 1) * RECORD_LEN);
      const kind = r[0];
      const ts = new DataView(r.buffer, r.byteOffset, RECORD_LEN).getBigUint64(25);
      if (!Buffer.from(checkOf(r.subarray(0, 33))).equals(r.subarray(33)) || (kind !== KIND_NONCE && kind !== KIND_BLACKOUT && kind !== KIND_HORIZON) || ts > BigInt(Number.MAX_SAFE_INTEGER)) {
        if (bad++ === 0) problems.push(`corrupt record #${i}`);
        continue;
      }
      if (kind === KIND_BLACKOUT) cache.blackout = Math.max(cache.blackout, Number(ts));
      else if (kind === KIND_HORIZON) cache.horizon = Math.max(cache.horizon, Number(ts));
      else cache.seen.set(key(r.subarray(1, 1 + NONCE_LEN)), Number(ts));
    }
    if (bad > 1) problems.push(`${bad} corrupt records in all`);
    cache.prune(nowMs);
    if (cache.seen.size > maxEntries) {
      problems.push(`${cache.seen.size} live nonces exceed limits.max_replay ${maxEntries}`);
      cache.seen.clear();
    }
    cache.appended = whole;
    if (problems.length === 0) return { cache, lost: false, detail: `${cache.size} live nonces loaded` };
    cache.markLost(nowMs);
    return { cache, lost: true, detail: `${problems.join('; ')}; refusing SPA timestamps up to ${new Date(cache.blackout).toISOString()}` };
  }

  /** The state file could not be read at all: start empty, fail closed. */
  static afterLoss(nowMs: number, windowMs: number, maxEntries: number): ReplayCache {
    const cache = new ReplayCache(windowMs, maxEntries);
    cache.markLost(nowMs);
    return cache;
  }
}

function key(nonce: Uint8Array): string {
  return Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('base64');
}
