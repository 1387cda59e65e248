/**
 * The daemon's budget of per-packet log lines: a rate limit for stage, reset and reject lines, a
 * separate one for debug lines (so they never crowd out the others), and a count of the lines
 * dropped, which housekeeping reports once per tick. Time is an argument (monotonic ms).
 */
import { RateLimit } from './rate-limit';

export class LogBudget {
  private readonly lines = new RateLimit(20, 1000);
  private readonly debugLines = new RateLimit(50, 1000);
  private dropped = 0;

  constructor(private readonly now: () => number) {}

  /** May one more line be logged now? A refusal is counted as suppressed. */
  take(kind: 'info' | 'debug' = 'info'): boolean {
    if ((kind === 'debug' ? this.debugLines : this.lines).take(this.now())) return true;
    this.dropped++;
    return false;
  }

  /** The lines suppressed since the last call; resets the count. */
  takeSuppressed(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }
}
