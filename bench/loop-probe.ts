/**
 * Preloaded into the daemon by the bench only (`node -r dist/bench/loop-probe.js ...`): measures the
 * event loop's delay with perf_hooks.monitorEventLoopDelay (10 ms resolution). On SIGUSR2 it writes
 * {p50, p99, max, samples} in milliseconds to $NFTKNOCK_LOOP_PROBE and starts a new histogram.
 * The product never loads it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';

const out = process.env.NFTKNOCK_LOOP_PROBE;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  process.on('SIGUSR2', () => {
    const ms = (ns: number): number => ns / 1e6;
    writeFileSync(out, JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), samples: h.count }));
    h.reset();
  });
}
