/**
 * CLI start-up (`sudo make bench` section 8), run inside a namespace by the runner:
 *   node dist/bench/startup.js '<json: {runs, warmup, commands: [{name, argv}]}>'
 * Each command is spawned `warmup` times unmeasured (page cache, nothing else), then `runs` times,
 * one after another, in the environment systemd gives a service (PATH only: no NODE_OPTIONS, no
 * NODE_EXTRA_CA_CERTS, which alone costs node ~20 ms here); the time is spawn to exit, from this
 * process's monotonic clock. Every loop is bounded by `runs` and a 20 s timeout per spawn.
 * Prints JSON: StartupRow[].
 */
import { spawnSync } from 'node:child_process';
import { KEEPER_ENV } from './env';

export interface StartupCommand {
  readonly name: string;
  readonly argv: readonly string[];
}

export interface StartupRow {
  readonly name: string;
  /** Wall ms per run, spawn to exit. */
  readonly ms: number[];
  readonly failed: number;
  /** The first failure's exit and stderr, if any. */
  readonly error?: string;
}

function once(argv: readonly string[]): { ms: number; ok: boolean; err: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0] as string, argv.slice(1), { env: KEEPER_ENV, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, ok: r.status === 0, err: `exit ${String(r.status ?? r.signal)}: ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}` };
}

export function startupRows(commands: readonly StartupCommand[], runs: number, warmup: number): StartupRow[] {
  return commands.map((c) => {
    for (let i = 0; i < warmup; i++) once(c.argv);
    const ms: number[] = [];
    let failed = 0;
    let error: string | undefined;
    for (let i = 0; i < runs; i++) {
      const r = once(c.argv);
      if (r.ok) ms.push(r.ms);
      else {
        failed++;
        error ??= r.err;
      }
    }
    return { name: c.name, ms, failed, ...(error ? { error } : {}) };
  });
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as { runs: number; warmup: number; commands: StartupCommand[] };
  process.stdout.write(JSON.stringify(startupRows(spec.commands, spec.runs, spec.warmup)));
}
