/** A token bucket for log lines: `rate` lines per `perMs`, bursting to `rate`. Time is an argument. */
export class RateLimit {
  private tokens: number;
  private last = -Infinity;

  constructor(private readonly rate: number, private readonly perMs: number) {
    this.tokens = rate;
  }

  take(now: number): boolean {
    if (this.last !== -Infinity) this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
