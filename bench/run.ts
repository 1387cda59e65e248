/**
 * `sudo make bench`: builds the C sender into a temp dir, runs every section in throwaway network
 * namespaces (never the host's ruleset), and writes docs/BENCHMARKS.md. BENCH_QUICK=1: a short
 * smoke run with fewer runs and steps. Every loop is bounded in count and time.
 *
 * The run is a list of SECTIONS; each fills its part of `results`. To add one (e.g. bench/spa-*.ts),
 * append `{ name, run }` to SECTIONS and render its part in report.ts.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KNOCKCTL, Lab, REPO, skipReason, sleep } from '../test/integration/support/lab';
import { scratch, writeConfig } from '../test/integration/support/daemon';
import { buildSpaPacket, formatIdentityFile, generateClientKey, generateIdentity, serverEntryOf, type SpaClientKey } from '../src/spa';
import {
  addClientAddrs, bridgeServer, detectionRuns, fillGrants, flushGrants, floodStep, KNOCKS, latencyRuns, memoryMB, memorySteps, rssParts,
  resetAddressPools, SERVER_IF, TABLE, useAddressPool, type FloodStep, type Keeper,
} from './net';
import { install, SEQ_TIMEOUT, startKnockd, startOurs, stop } from './keepers';
import { KEEPER_ENV } from './env';
import type { StartupRow } from './startup';
import { snapLengthFor } from '../src/packet/capture-size';
import { ringFor } from '../src/io/pcap-ring';
import { DEFAULT_RING_PACKETS } from '../src/io/pcap-capture';
import { renderReport, type Results, type KeeperResults, type LoopWindow } from './report';

import { DAEMON_NODE_FLAGS } from './keepers';

export { DAEMON_NODE_FLAGS };
import { spaWireRuns } from './spa-wire';
import { fwknopNet, type FwknopRate } from './fwknop';

const QUICK = process.env.BENCH_QUICK === '1';
const P = QUICK
  ? { lat: 8, legit: 5, rates: [10000, 0], modes: ['knock'] as const, floodSec: 4, mem: [10000, 50000], memPps: 50000, settle: 1500, inprocSec: 0.5, nftRuns: 20, startupRuns: 10, idleWaitMs: 6000, loopGrants: 60000, loopSec: 12, seqTimeout: SEQ_TIMEOUT }
  : { lat: 30, legit: 20, rates: [10000, 50000, 100000, 0], modes: ['ports', 'knock'] as const, floodSec: 7, mem: [10000, 100000, 1000000], memPps: 100000, settle: 3000, inprocSec: 2, nftRuns: 60, startupRuns: 40, idleWaitMs: 6000, loopGrants: 60000, loopSec: 20, seqTimeout: SEQ_TIMEOUT };

/** What every section gets: the results to fill, the sender, keys, a config, fresh labs. */
export interface BenchContext {
  readonly results: Results;
  readonly params: typeof P;
  readonly sender: string;
  readonly dir: string;
  readonly clientKey: SpaClientKey;
  /** Our config: the knock door (7000, 8000, 9000/udp, seq_timeout SEQ_TIMEOUT) and an SPA door. */
  readonly cfg: string;
  /** A new Lab (two clients, bridged server, fresh addresses): torn down at the end, or by the caller. */
  freshLab(): Promise<Lab>;
  /** Throws when the stand-in service on port 22 died (every later probe would fail for a reason not the keeper's). */
  serviceAlive(lab: Lab, phase: string): void;
}

export interface Section {
  readonly name: string;
  run(ctx: BenchContext): Promise<void>;
}

/** Section 7 (bench/fwknop.ts): nftknock's fwknop-format door beside fwknopd. */
const FW = QUICK ? { lat: 5, legit: 5, rates: [1000, 0], floodSec: 4 } : { lat: 15, legit: 10, rates: [500, 1000, 2000, 5000, 20000, 0], floodSec: 6 };

const sh = (cmd: string, ...args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 30000 }).trim();
  } catch (e) {
    return `unknown (${(e as Error).message.split('\n')[0]})`;
  }
};

function machine(): Results['machine'] {
  const cpu = /model name\s*:\s*(.*)/.exec(sh('cat', '/proc/cpuinfo'))?.[1] ?? 'unknown';
  return {
    cpu, cores: Number(sh('nproc')), kernel: sh('uname', '-r'), node: process.version, nft: sh('nft', '-v'),
    knockd: sh('dpkg-query', '-W', '-f=${Version}', 'knockd'), date: new Date().toISOString(), load: sh('cat', '/proc/loadavg'),
  };
}

/** The SPA identity the bench's daemons use: written into state_dir first, so datagrams can be built here. */
const SPA_SERVER = generateIdentity();

function spaKeyConfig(dir: string, key: string, mode: string): string {
  mkdirSync(join(dir, 'state'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'state', 'spa-identity'), formatIdentityFile(SPA_SERVER), { mode: 0o600 });
  return writeConfig(dir, `table: ${TABLE}
interfaces: [any]
state_dir: ${dir}/state
doors:
  ssh:
${mode}    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: ${SEQ_TIMEOUT}
    open: ["22/tcp"]
    timeout: 30
  spa:
    spa:
      port: 62201
      clients:
        bench: { key: "${key}" }
    open: ["22/tcp"]
    timeout: 30
`);
}

/** One keeper per row: `start` makes a fresh one, which is stopped after its row. */
async function floodRows(ctx: BenchContext, lab: Lab, start: () => Promise<Keeper>): Promise<FloodStep[]> {
  const out: FloodStep[] = [];
  // Rates outer, modes inner: the max-rate floods last.
  for (const pps of ctx.params.rates) {
    for (const mode of ctx.params.modes) {
      const k = await start();
      out.push(await floodStep(lab, ctx.sender, k, mode, pps, ctx.params.floodSec, ctx.params.legit));
      await stop(k);
      process.stderr.write(`  ${k.name} flood ${mode} ${pps || 'max'}: ${JSON.stringify(out[out.length - 1])}\n`);
    }
  }
  return out;
}

const keeperResults = (r: Results, name: 'ours' | 'knockd'): KeeperResults => {
  r[name] ??= { knock: { ok: [], failed: 0 }, flood: [], idleRssMB: NaN, memory: [] };
  return r[name];
};

/** Each keeper in its own fresh Lab; `ours` or `knockd` (with its /bin/true variant). */
const SECTIONS: Section[] = [
  {
    name: 'in-process benchmarks (one core)',
    async run(ctx) {
      const cpu = process.env.BENCH_CPU ?? '1';
      ctx.results.inproc = JSON.parse(execFileSync('taskset', ['-c', cpu, process.execPath, '--expose-gc', resolve(REPO, 'dist/bench/inproc.js'), String(ctx.params.inprocSec)], { encoding: 'utf8', timeout: 120000 })) as Results['inproc'];
    },
  },
  {
    name: 'nft transport cost',
    async run(ctx) {
      const lab = await ctx.freshLab();
      await install(lab, ctx.cfg);
      const out = await lab.exec(lab.server.ns, process.execPath, resolve(REPO, 'dist/bench/nft-cost.js'), TABLE, String(ctx.params.nftRuns));
      ctx.results.nftCost = JSON.parse(out.stdout) as Results['nftCost'];
      await lab.down();
    },
  },
  {
    name: 'idle memory, fresh keepers',
    async run(ctx) {
      for (const name of ['ours', 'knockd'] as const) {
        const lab = await ctx.freshLab();
        const k = name === 'ours' ? await startOurs(lab, ctx.cfg) : await startKnockd(lab, ctx.dir, ctx.cfg);
        // Past the daemon's first housekeeping tick (5 s): the steady idle state, before any packet.
        await sleep(ctx.params.idleWaitMs);
        const r = keeperResults(ctx.results, name);
        r.idleRssMB = memoryMB(k.pid).rss;
        r.idleParts = rssParts(k.pid);
        await stop(k);
        await lab.down();
      }
      // For scale: node itself, same flags and environment, a timer keeping it alive, same wait.
      const lab = await ctx.freshLab();
      const bare = lab.start(lab.server.ns, process.execPath, [...DAEMON_NODE_FLAGS, '-e', 'setInterval(() => {}, 1000)'], KEEPER_ENV);
      await sleep(ctx.params.idleWaitMs);
      ctx.results.nodeIdle = rssParts(bare.pid as number);
      bare.kill('SIGKILL');
      await lab.down();
    },
  },
  {
    name: 'CLI start-up',
    async run(ctx) {
      const lab = await ctx.freshLab();
      const client = lab.clients[0] as Lab['clients'][number];
      const node = [process.execPath, ...DAEMON_NODE_FLAGS];
      const knock = ['knock', lab.server.ip4, ...KNOCKS];
      const check = ['check-config', '-c', ctx.cfg];
      const unbundled = resolve(REPO, 'dist/src/cli/main.js');
      const commands = [
        { name: 'node itself (`node -e 0`, the floor)', argv: [...node, '-e', '0'] },
        { name: `\`knockctl ${knock.join(' ')}\``, argv: [...node, KNOCKCTL, ...knock] },
        { name: '`knockctl check-config -c CONFIG` (the bench\'s config: a knock door and an SPA door)', argv: [...node, KNOCKCTL, ...check] },
        { name: 'the same knock, unbundled (tsc\'s output, one file per module)', argv: [...node, unbundled, ...knock] },
        { name: 'the same check-config, unbundled', argv: [...node, unbundled, ...check] },
      ];
      const spec = JSON.stringify({ runs: ctx.params.startupRuns, warmup: 3, commands });
      const out = await lab.exec(client.ns, process.execPath, resolve(REPO, 'dist/bench/startup.js'), spec);
      if (out.code !== 0) throw new Error(`bench/startup.ts failed: ${out.stderr}`);
      // Which code cache the launcher used, as installed (src/cli/launch.ts).
      const probe = await lab.exec(client.ns, 'env', '-i', `PATH=${String(KEEPER_ENV.PATH)}`, 'KNOCKCTL_LAUNCH_DEBUG=1', ...node, KNOCKCTL, ...check);
      ctx.results.startup = { rows: JSON.parse(out.stdout) as StartupRow[], cache: /code cache (\w+)/.exec(probe.stderr)?.[1] ?? `unknown (${probe.stderr.trim()})` };
      await lab.down();
    },
  },
  {
    name: 'latency',
    async run(ctx) {
      let lab = await ctx.freshLab();
      const ours = await startOurs(lab, ctx.cfg);
      const r = keeperResults(ctx.results, 'ours');
      r.knock = await latencyRuns(lab, ctx.sender, ctx.params.lat, () => KNOCKS);
      await flushGrants(lab);
      const spaSteps = (): string[] => [`62201:udp:${Buffer.from(buildSpaPacket({ key: ctx.clientKey, server: SPA_SERVER.pub, door: 'spa', nowMs: Date.now() })).toString('hex')}`];
      r.spa = await latencyRuns(lab, ctx.sender, ctx.params.lat, spaSteps);
      r.detect = await detectionRuns(lab, ctx.sender, ctx.params.lat, ours.clock, /"event":"knock-success"/);
      ctx.serviceAlive(lab, 'nftknock latency');
      await stop(ours);
      await lab.down();

      lab = await ctx.freshLab();
      const kd = await startKnockd(lab, ctx.dir, ctx.cfg);
      const q = keeperResults(ctx.results, 'knockd');
      q.knock = await latencyRuns(lab, ctx.sender, ctx.params.lat, () => KNOCKS);
      q.detect = await detectionRuns(lab, ctx.sender, ctx.params.lat, kd.clock, /OPEN SESAME/);
      ctx.serviceAlive(lab, 'knockd latency');
      await stop(kd);
      const kdTrue = await startKnockd(lab, ctx.dir, ctx.cfg, '/bin/true');
      q.detectTrue = await detectionRuns(lab, ctx.sender, ctx.params.lat, kdTrue.clock, /OPEN SESAME/);
      await stop(kdTrue);
      await lab.down();
    },
  },
  {
    name: 'floods (a fresh keeper per row)',
    async run(ctx) {
      let lab = await ctx.freshLab();
      keeperResults(ctx.results, 'ours').flood = await floodRows(ctx, lab, () => startOurs(lab, ctx.cfg));
      ctx.serviceAlive(lab, 'nftknock floods');
      await lab.down();
      lab = await ctx.freshLab();
      keeperResults(ctx.results, 'knockd').flood = await floodRows(ctx, lab, () => startKnockd(lab, ctx.dir, ctx.cfg));
      ctx.serviceAlive(lab, 'knockd floods');
      await lab.down();
    },
  },
  {
    name: 'memory under first-stage knocks',
    async run(ctx) {
      for (const name of ['ours', 'knockd'] as const) {
        const lab = await ctx.freshLab();
        const k = name === 'ours' ? await startOurs(lab, ctx.cfg) : await startKnockd(lab, ctx.dir, ctx.cfg);
        keeperResults(ctx.results, name).memory = await memorySteps(lab, ctx.sender, k, ctx.params.mem, ctx.params.memPps, ctx.params.settle);
        await stop(k);
        await lab.down();
      }
    },
  },
  {
    name: 'event loop with a full grant set',
    async run(ctx) {
      const lab = await ctx.freshLab();
      const probe = join(ctx.dir, 'loop.json');
      const ours = await startOurs(lab, ctx.cfg, { loopProbe: probe });
      const read = async (): Promise<{ p50: number; p99: number; max: number; samples: number }> => {
        rmSync(probe, { force: true });
        process.kill(ours.pid, 'SIGUSR2');
        for (let i = 0; i < 100; i++) {
          try {
            return JSON.parse(readFileSync(probe, 'utf8')) as { p50: number; p99: number; max: number; samples: number };
          } catch {
            await sleep(20);
          }
        }
        throw new Error('the event-loop probe did not answer');
      };
      // Two windows of the same length and the same knocks: empty sets, then a full one. The
      // difference is what the grants cost the loop; the rest is this machine's other load.
      const window = async (): Promise<LoopWindow> => {
        await read(); // a histogram of this window only
        const t0 = Date.now();
        const knock = await latencyRuns(lab, ctx.sender, Math.min(ctx.params.lat, 10), () => KNOCKS);
        await sleep(Math.max(0, ctx.params.loopSec * 1000 - (Date.now() - t0)));
        return { ...(await read()), seconds: (Date.now() - t0) / 1000, knock };
      };
      const empty = await window();
      await flushGrants(lab);
      await fillGrants(lab, ctx.params.loopGrants);
      const full = await window();
      ctx.results.loop = { grants: ctx.params.loopGrants, resolutionMs: 10, empty, full, rulesetProblems: ours.log?.count('ruleset-missing') ?? 0 };
      ctx.serviceAlive(lab, 'event loop');
      await stop(ours);
      await lab.down();
    },
  },
  {
    name: 'SPA rejection over the wire',
    async run(ctx) {
      const spaLab = async (): Promise<Lab> => {
        const l = new Lab(1);
        await l.up();
        return l;
      };
      ctx.results.spaWire = await spaWireRuns(spaLab, { count: QUICK ? 50_000 : 300_000, seconds: QUICK ? 3 : 6, nodeFlags: DAEMON_NODE_FLAGS });
    },
  },
  {
    name: 'fwknop format: nftknock and fwknopd',
    async run(ctx) {
      const cpu = process.env.BENCH_CPU ?? '1';
      const fwInproc = JSON.parse(execFileSync('taskset', ['-c', cpu, process.execPath, resolve(REPO, 'dist/bench/fwknop.js'), 'inproc', String(ctx.params.inprocSec)], { encoding: 'utf8', timeout: 120000 })) as FwknopRate[];
      ctx.results.fwknop = { params: { ...FW, inprocSec: ctx.params.inprocSec }, inproc: fwInproc, ...(await fwknopNet(() => ctx.freshLab(), ctx.sender, ctx.dir, FW)), fwknopdVersion: sh('dpkg-query', '-W', '-f=${Version}', 'fwknop-server') };
    },
  },
  {
    name: 'kernel-only door',
    async run(ctx) {
      const lab = await ctx.freshLab();
      const cfg = spaKeyConfig(mkdtempSync(join(ctx.dir, 'kernel-')), (serverEntryOf(ctx.clientKey) as { key: string }).key, `    mode: kernel\n    interfaces: [${SERVER_IF}]\n`);
      const dry = await lab.knockctl(lab.server.ns, 'install-ruleset', '--dry-run', '-c', cfg);
      if (dry.code !== 0) {
        ctx.results.kernel = `not available in this build (${dry.stderr.trim().split('\n')[0]})`;
      } else {
        await install(lab, cfg);
        ctx.results.kernel = { knock: await latencyRuns(lab, ctx.sender, ctx.params.lat, () => KNOCKS), flood: [], idleRssMB: NaN, memory: [] };
        ctx.serviceAlive(lab, 'kernel-door');
      }
      await lab.down();
    },
  },
];

async function main(): Promise<void> {
  const why = skipReason();
  if (why) {
    process.stderr.write(`bench: ${why}\n`);
    process.exit(2);
  }
  const t0 = Date.now();
  // The capture the daemon sets up for the bench's config (a knock door and an SPA door).
  const snapLen = snapLengthFor({ doors: [{ kind: 'knock' }, { kind: 'spa', spa: { port: 62201 } }] });
  const ring = ringFor(DEFAULT_RING_PACKETS, snapLen);
  const capture = { snapLen, ringDefault: DEFAULT_RING_PACKETS, ringPackets: ring.frames, ringMiB: ring.memoryBytes / 2 ** 20, ringKnockOnlyMiB: ringFor(DEFAULT_RING_PACKETS, snapLengthFor({ doors: [{ kind: 'knock' }] })).memoryBytes / 2 ** 20 };
  const results = { quick: QUICK, machine: machine(), params: { ...P, ...capture } } as unknown as Results; // filled in by the sections
  const build = mkdtempSync(join(tmpdir(), 'nftknock-bench-'));
  const sender = join(build, 'sender');
  execFileSync('gcc', ['-O2', '-Wall', '-o', sender, resolve(REPO, 'bench/sender.c')], { stdio: 'inherit' });
  const labs: Lab[] = [];
  const services = new Map<Lab, ChildProcess>();
  const cleanup = async (): Promise<void> => {
    for (const l of labs) await l.down();
    rmSync(build, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const dir = scratch();
  const clientKey = generateClientKey('aead');
  const ctx: BenchContext = {
    results, params: P, sender, dir, clientKey,
    cfg: spaKeyConfig(dir, (serverEntryOf(clientKey) as { key: string }).key, ''),
    async freshLab() {
      const lab = new Lab(2);
      labs.push(lab);
      await lab.up();
      await bridgeServer(lab);
      for (const k of ['all', 'default', SERVER_IF]) await lab.sh(lab.server.ns, 'sysctl', '-qw', `net.ipv4.conf.${k}.rp_filter=0`);
      await addClientAddrs(lab);
      services.set(lab, await lab.service(22));
      // Both keepers draw from the same pool: addresses on the client link (knockd did not react
      // to sources outside its interface's subnet); each Lab starts it afresh.
      resetAddressPools();
      useAddressPool('link');
      return lab;
    },
    serviceAlive(lab, phase) {
      const svc = services.get(lab);
      if (!svc || svc.exitCode !== null || svc.signalCode !== null) throw new Error(`the stand-in service on port 22 died during the ${phase} phase; its figures would be invalid`);
    },
  };
  try {
    for (const s of SECTIONS) {
      process.stderr.write(`${s.name}\n`);
      await s.run(ctx);
    }
  } finally {
    await cleanup();
  }
  results.machine.loadEnd = sh('cat', '/proc/loadavg');
  results.seconds = (Date.now() - t0) / 1000;
  const out = resolve(REPO, process.env.BENCH_OUT ?? 'docs/BENCHMARKS.md');
  writeFileSync(out, renderReport(results));
  process.stderr.write(`wrote ${out} in ${results.seconds.toFixed(0)} s\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
