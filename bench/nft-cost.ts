/**
 * What one grant costs in the daemon's own nft transport: NftProcess.apply of a one-grant batch
 * (the `nft -j` process the daemon spawns per batch), against a bare spawn of /bin/true from the
 * same Node process. Run as root inside a namespace whose table TABLE exists. Prints JSON.
 *   node dist/bench/nft-cost.js TABLE RUNS
 */
import { spawn } from 'node:child_process';
import { NftProcess } from '../src/io/nft-runner';
import { buildGrantBatch } from '../src/nft/elements';
import { SetLayout } from '../src/nft/layout';

const table = process.argv[2] ?? 'nkb';
const runs = Math.min(Number(process.argv[3] ?? 50), 1000);

function spawnTrue(): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.on('error', rej);
    c.on('close', () => res());
  });
}

async function time(fn: (i: number) => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms;
}

async function main(): Promise<void> {
  const nft = new NftProcess();
  const grant = (i: number): Promise<void> =>
    nft.apply(buildGrantBatch(table, new SetLayout([]), [{ door: 'bench', family: 4, addr: `192.0.2.${(i % 250) + 1}`, services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 5 }]), 'bench grant');
  const nftMs = await time(grant);
  const trueMs = await time(() => spawnTrue());
  process.stdout.write(`${JSON.stringify({ nftMs, trueMs })}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
