/**
 * Budget for the verifier's expensive steps (an X25519 agreement, then a signature check).
 * A datagram reaches them only with a valid mac1, which anyone who holds the server identity
 * (every client key file does) can compute; so the budget is per source (IPv4 address, IPv6 /64)
 * and global, token buckets with time as an argument. Pure.
 *
 * Without a reply channel there is no cookie as in WireGuard: under a flood of valid-mac1
 * datagrams from many spoofed sources the global bucket makes SPA refuse (`rate-limited`) rather
 * than burn the CPU; it never lets anything through.
 */

export interface CostLimits {
  /** Expensive checks a source may cause per second, and in one burst. */
  readonly perSourceRate: number;
  readonly perSourceBurst: number;
  /** All sources together. */
  readonly globalRate: number;
  readonly globalBurst: number;
  /** Sources tracked at once; beyond that, new sources share the global bucket only. */
  readonly maxSources: number;
}

export const DEFAULT_COST_LIMITS: CostLimits = { perSourceRate: 2, perSourceBurst: 8, globalRate: 500, globalBurst: 1000, maxSources: 65536 };

interface Bucket {
  tokens: number;
  at: number;
}

export class CostLimiter {
  private readonly sources = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(readonly limits: CostLimits = DEFAULT_COST_LIMITS) {
    this.global = { tokens: limits.globalBurst, at: -Infinity };
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  /**
   * May `source` (its limiter key, see sourceKey) cause one expensive check at `nowMs`? Takes a
   * token from its bucket and from the global one when it may.
   */
  take(source: string, nowMs: number): boolean {
    const l = this.limits;
    let b = this.sources.get(source);
    if (!b) {
      if (this.sources.size >= l.maxSources) this.sweep(nowMs);
      b = { tokens: l.perSourceBurst, at: nowMs };
      if (this.sources.size < l.maxSources) this.sources.set(source, b);
    }
    refill(b, nowMs, l.perSourceRate, l.perSourceBurst);
    if (b.tokens < 1) return false;
    refill(this.global, nowMs, l.globalRate, l.globalBurst);
    if (this.global.tokens < 1) return false;
    b.tokens -= 1;
    this.global.tokens -= 1;
    return true;
  }

  /** Forget sources whose bucket is full again: they are indistinguishable from new ones. */
  sweep(nowMs: number): void {
    const l = this.limits;
    for (const [k, b] of this.sources) {
      refill(b, nowMs, l.perSourceRate, l.perSourceBurst);
      if (b.tokens >= l.perSourceBurst) this.sources.delete(k);
    }
  }
}

function refill(b: Bucket, nowMs: number, rate: number, burst: number): void {
  if (nowMs > b.at) {
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * rate);
    b.at = nowMs;
  }
}

/** The key a source is limited by: an IPv4 address, or the /64 of an IPv6 address. */
export function sourceKey(family: 4 | 6, bytes: Uint8Array, text: string): string {
  return family === 4 ? text : Buffer.from(bytes.subarray(0, 8)).toString('hex');
}
