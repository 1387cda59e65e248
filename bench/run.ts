/**
 * `sudo make bench`: builds the C sender into a temp dir, runs every scenario in throwaway network
 * namespaces (never the host's ruleset), and writes docs/BENCHMARKS.md. BENCH_QUICK=1: a ~1 minute
 * smoke run with fewer runs and steps. Every loop is bounded in count and time.
 */
import { useAddressPool } from './net';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KNOCKCTL, Lab, REPO, skipReason, sleep, waitForLine } from '../test/integration/support/lab';
import { RunningDaemon, scratch, writeConfig } from '../test/integration/support/daemon';
import { buildSpaPacket, formatIdentityFile, generateClientKey, generateIdentity, serverEntryOf } from '../src/spa';
import { addClientAddrs, bridgeServer, SERVER_IF, flushGrants, floodStep, KNOCKS, latencyRuns, memoryMB, memorySteps, TABLE, type Keeper } from './net';
import { renderReport, type Results, type KeeperResults } from './report';
import { spaWireRuns } from './spa-wire';
import { fwknopNet, type FwknopRate } from './fwknop';

const QUICK = process.env.BENCH_QUICK === '1';
/**
 * The node flags the daemon runs with when installed (`make install`'s wrapper, the Containerfile's
 * NODE_OPTIONS): the bench measures the program as shipped. test/unit/docs/node-flags.test.ts keeps
 * the three in step.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2'];
const P = QUICK
  ? { lat: 8, legit: 5, rates: [10000, 0], modes: ['knock'] as const, floodSec: 4, mem: [10000, 50000], memPps: 50000, settle: 1500, inprocSec: 0.5, nftRuns: 20 }
  : { lat: 30, legit: 20, rates: [10000, 50000, 100000, 0], modes: ['ports', 'knock'] as const, floodSec: 7, mem: [10000, 100000, 1000000], memPps: 100000, settle: 3000, inprocSec: 2, nftRuns: 60 };

/** Section 6 (bench/fwknop.ts): nftknock's fwknop-format door beside fwknopd. */
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
    seq_timeout: 60
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

async function install(lab: Lab, config: string): Promise<void> {
  const r = await lab.knockctl(lab.server.ns, 'install-ruleset', '-c', config);
  if (r.code !== 0) throw new Error(`install-ruleset failed: ${r.stderr}`);
}

async function startOurs(lab: Lab, config: string): Promise<Keeper> {
  await install(lab, config);
  const child = lab.start(lab.server.ns, process.execPath, [...DAEMON_NODE_FLAGS, KNOCKCTL, 'daemon', '-c', config]);
  const d = new RunningDaemon(child);
  await d.event('start', undefined, 10000);
  await sleep(300);
  process.once('exit', () => {
    const n = (e: string): number => d.count(e);
    process.stderr.write(`  nftknock log: knock-success ${n('knock-success')}, grant ${n('grant')}, grant-failed ${n('grant-failed')}, spa-accept ${n('spa-accept')}, spa-reject ${n('spa-reject')}\n`);
  });
  return { name: 'nftknock', pid: child.pid as number, child, log: d };
}

async function startKnockd(lab: Lab, dir: string, config: string): Promise<Keeper> {
  await install(lab, config);
  const conf = join(dir, 'knockd.conf');
  writeFileSync(conf, `[options]
\tlogfile = ${dir}/knockd.log
[open]
\tsequence = ${KNOCKS.join(',')}
\tseq_timeout = 60
\ttcpflags = syn
\tstart_command = /usr/sbin/nft add element inet ${TABLE} allowed4 { %IP% . tcp . 22 timeout 30s }
`);
  const child = lab.start(lab.server.ns, '/usr/sbin/knockd', ['-i', SERVER_IF, '-c', conf, '-v']);
  await waitForLine(child, /listening on/, 10000);
  await sleep(300);
  return { name: 'knockd', pid: child.pid as number, child };
}

async function stop(k: Keeper): Promise<void> {
  if (k.child.exitCode !== null || k.child.signalCode !== null) return;
  const done = new Promise((r) => k.child.once('exit', r));
  k.child.kill('SIGTERM');
  await Promise.race([done, sleep(3000)]);
  if (k.child.exitCode === null && k.child.signalCode === null) k.child.kill('SIGKILL');
}

async function keeperRuns(lab: Lab, sender: string, k: Keeper, spaSteps?: (i: number) => string[]): Promise<KeeperResults> {
  useAddressPool(k.name === 'knockd' ? 'link' : 'extra');
  const knock = await latencyRuns(lab, sender, P.lat, () => KNOCKS);
  process.stderr.write(`  ${k.name} latency: ${JSON.stringify(knock)} comm=${readFileSync(`/proc/${k.pid}/comm`, 'utf8').trim()}\n`);
  await flushGrants(lab);
  const spa = spaSteps ? await latencyRuns(lab, sender, P.lat, spaSteps) : undefined;
  const flood = [];
  // Rates outer, modes inner: the max-rate floods run last, so a keeper slowed by a max-rate flood
  // (a grown heap, a backlog) cannot colour the figures of the lower rates.
  for (const pps of P.rates) {
    for (const mode of P.modes) {
      flood.push(await floodStep(lab, sender, k, mode, pps, P.floodSec, P.legit));
      process.stderr.write(`  ${k.name} flood ${mode} ${pps || 'max'}: ${JSON.stringify(flood[flood.length - 1])}\n`);
    }
  }
  await flushGrants(lab);
  const idle = memoryMB(k.pid);
  const memory = await memorySteps(lab, sender, k, P.mem, P.memPps, P.settle);
  return { knock, spa, flood, idleRssMB: idle.rss, memory };
}

/** A kernel-door config installs only in builds that support `mode: kernel`. */
async function kernelDoor(lab: Lab, sender: string, dir: string, key: string): Promise<KeeperResults | string> {
  mkdirSync(join(dir, 'kernel'), { recursive: true });
  const cfg = spaKeyConfig(join(dir, 'kernel'), key, `    mode: kernel\n    interfaces: [${SERVER_IF}]\n`);
  const dry = await lab.knockctl(lab.server.ns, 'install-ruleset', '--dry-run', '-c', cfg);
  if (dry.code !== 0) return `not available in this build (${dry.stderr.trim().split('\n')[0]})`;
  await install(lab, cfg);
  const knock = await latencyRuns(lab, sender, P.lat, () => KNOCKS);
  return { knock, flood: [], idleRssMB: NaN, memory: [] };
}

async function main(): Promise<void> {
  const why = skipReason();
  if (why) {
    process.stderr.write(`bench: ${why}\n`);
    process.exit(2);
  }
  const t0 = Date.now();
  const results = { quick: QUICK, machine: machine(), params: { ...P } } as unknown as Results; // filled in below, phase by phase
  const build = mkdtempSync(join(tmpdir(), 'nftknock-bench-'));
  const sender = join(build, 'sender');
  execFileSync('gcc', ['-O2', '-Wall', '-o', sender, resolve(REPO, 'bench/sender.c')], { stdio: 'inherit' });

  process.stderr.write('in-process benchmarks (one core)\n');
  const cpu = process.env.BENCH_CPU ?? '1';
  results.inproc = JSON.parse(execFileSync('taskset', ['-c', cpu, process.execPath, '--expose-gc', resolve(REPO, 'dist/bench/inproc.js'), String(P.inprocSec)], { encoding: 'utf8', timeout: 120000 })) as Results['inproc'];

  // Each door keeper gets its own throwaway namespaces (client 1 knocks, client 2 floods), so no
  // kernel state left by one keeper's floods can touch the next keeper's figures.
  const labs: Lab[] = [];
  const cleanup = async (): Promise<void> => {
    for (const l of labs) await l.down();
    rmSync(build, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const freshLab = async (): Promise<Lab> => {
    const lab = new Lab(2);
    labs.push(lab);
    await lab.up();
    await bridgeServer(lab);
    for (const k of ['all', 'default', SERVER_IF]) await lab.sh(lab.server.ns, 'sysctl', '-qw', `net.ipv4.conf.${k}.rp_filter=0`);
    await addClientAddrs(lab);
    services.set(lab, await lab.service(22));
    return lab;
  };
  // A dead stand-in service turns every later probe into a failure that looks like the keeper's:
  // a phase's figures count only if the service outlived it.
  const services = new Map<Lab, ChildProcess>();
  const serviceAlive = (lab: Lab, phase: string): void => {
    const svc = services.get(lab);
    if (!svc || svc.exitCode !== null || svc.signalCode !== null) throw new Error(`the stand-in service on port 22 died during the ${phase} phase; its figures would be invalid`);
  };
  try {
    const dir = scratch();
    const clientKey = generateClientKey('aead');
    const key = (serverEntryOf(clientKey) as { key: string }).key;
    const cfg = spaKeyConfig(dir, key, '');

    let lab = await freshLab();
    process.stderr.write('nft transport cost\n');
    await install(lab, cfg);
    const nftOut = await lab.exec(lab.server.ns, process.execPath, resolve(REPO, 'dist/bench/nft-cost.js'), TABLE, String(P.nftRuns));
    results.nftCost = JSON.parse(nftOut.stdout) as Results['nftCost'];

    process.stderr.write('nftknock daemon\n');
    const ours = await startOurs(lab, cfg);
    const spaSteps = (): string[] => [`62201:udp:${Buffer.from(buildSpaPacket({ key: clientKey, server: SPA_SERVER.pub, door: 'spa', nowMs: Date.now() })).toString('hex')}`];
    results.ours = await keeperRuns(lab, sender, ours, spaSteps);
    serviceAlive(lab, 'nftknock');
    await stop(ours);
    await lab.down();

    process.stderr.write('knockd\n');
    lab = await freshLab();
    await install(lab, cfg);
    const kd = await startKnockd(lab, dir, cfg);
    results.knockd = await keeperRuns(lab, sender, kd);
    serviceAlive(lab, 'knockd');
    await stop(kd);
    await lab.down();

    process.stderr.write('SPA rejection over the wire\n');
    const spaLab = async (): Promise<Lab> => {
      const l = new Lab(1);
      labs.push(l);
      await l.up();
      return l;
    };
    results.spaWire = await spaWireRuns(spaLab, { count: QUICK ? 50_000 : 300_000, seconds: QUICK ? 3 : 6, nodeFlags: DAEMON_NODE_FLAGS });

    process.stderr.write('kernel-only door\n');
    lab = await freshLab();
    results.kernel = await kernelDoor(lab, sender, dir, key);
    serviceAlive(lab, 'kernel-door');
    await lab.down();

    process.stderr.write('fwknop format: nftknock and fwknopd\n');
    const fwInproc = JSON.parse(execFileSync('taskset', ['-c', cpu, process.execPath, resolve(REPO, 'dist/bench/fwknop.js'), 'inproc', String(P.inprocSec)], { encoding: 'utf8', timeout: 120000 })) as FwknopRate[];
    results.fwknop = { params: { ...FW, inprocSec: P.inprocSec }, inproc: fwInproc, ...(await fwknopNet(freshLab, sender, dir, FW)), fwknopdVersion: sh('dpkg-query', '-W', '-f=${Version}', 'fwknop-server') };
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
