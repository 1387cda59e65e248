/**
 * `make fuzz`: seeded mutation fuzzing of the decoders, the SPA verifier, the config loader and the
 * knockd.conf importer, for a bounded time. No coverage feedback (we add no dependency), so the
 * corpus is real inputs and the mutators are AFL-style havoc.
 *
 *   FUZZ_SECONDS  total time, split evenly between targets (default 60)
 *   FUZZ_SEED     32-bit seed (default: from the clock, printed); the same seed gives the same inputs
 *   FUZZ_TARGET   run only the targets whose name contains this
 *
 * A failure prints the target, seed, iteration and the input, and the run exits 1. Each input is
 * made from its own PRNG seeded by (seed, target, iteration), so a single failing iteration can be
 * replayed with FUZZ_SEED=... FUZZ_ITERATION=... without running those before it.
 */
import { configTarget, frameTarget, importTarget, spaTarget, type FuzzTarget } from './targets';
import { fwknopImportTarget, fwknopPlaintextTarget, fwknopVerifyTarget } from './fwknop-targets';
import { rngOf } from './mutate';

const SLOW_MS = 1000;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

function rngFor(seed: number, target: string, iteration: number) {
  return rngOf((seed ^ hash(target) ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0);
}

interface Result { name: string; runs: number; failures: number; slow: number }

function fuzz<T>(t: FuzzTarget<T>, seed: number, ms: number, only?: number): Result {
  const res: Result = { name: t.name, runs: 0, failures: 0, slow: 0 };
  const end = Date.now() + ms;
  for (let i = only ?? 0; only !== undefined ? i === only : Date.now() < end; i++) {
    const input = t.next(rngFor(seed, t.name, i));
    const started = Date.now();
    try {
      t.check(input);
    } catch (e) {
      res.failures++;
      const err = e as Error;
      console.log(`FAIL ${t.name} seed=${seed} iteration=${i}: ${err.name}: ${err.message}`);
      if (err.name !== 'FuzzFailure' && err.stack) console.log(err.stack.split('\n').slice(0, 6).join('\n'));
      console.log(`  input: ${t.show(input)}`);
      if (res.failures >= 5) break;
    }
    const took = Date.now() - started;
    if (took > SLOW_MS) {
      res.slow++;
      console.log(`SLOW ${t.name} seed=${seed} iteration=${i}: ${took} ms\n  input: ${t.show(input)}`);
    }
    res.runs++;
  }
  return res;
}

function main(): number {
  const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
  if (!(seconds > 0)) throw new Error(`FUZZ_SECONDS must be a positive number, not "${process.env.FUZZ_SECONDS}"`);
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
  const only = process.env.FUZZ_ITERATION !== undefined ? Number(process.env.FUZZ_ITERATION) : undefined;
  const filter = process.env.FUZZ_TARGET ?? '';
  const imp = importTarget();
  const targets = [frameTarget(), spaTarget(), configTarget(), ...(imp ? [imp] : []), fwknopVerifyTarget(), fwknopPlaintextTarget(), fwknopImportTarget()].filter((t) => t.name.includes(filter)) as FuzzTarget<unknown>[];
  if (!imp) console.log('import-knockd: skipped (src/config/knockd-import.ts is not in this tree)');
  console.log(`fuzz: seed=${seed} (FUZZ_SEED=${seed} to repeat), ${seconds}s over ${targets.length} target(s)`);
  const per = (seconds * 1000) / Math.max(1, targets.length);
  let failed = 0;
  for (const t of targets) {
    const r = fuzz(t, seed, per, only);
    failed += r.failures + r.slow;
    console.log(`${r.name}: ${r.runs} inputs, ${r.failures} failure(s), ${r.slow} slow`);
  }
  console.log(failed ? `fuzz: FAILED (seed=${seed})` : `fuzz: ok (seed=${seed})`);
  return failed ? 1 : 0;
}

process.exitCode = main();
