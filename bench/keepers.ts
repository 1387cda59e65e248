/**
 * The door keepers the bench compares, each started fresh in a Lab's server namespace: our daemon
 * as installed (DAEMON_NODE_FLAGS), and knockd with the same sequence, seq_timeout and logging
 * (verbose lines on stdout, read by the bench; no log file, no syslog). Every stdout line is kept
 * with the CLOCK_MONOTONIC time it arrived (process.hrtime, the clock bench/sender.c reads too).
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KNOCKCTL, NODE_FLAGS, REPO, sleep, waitForLine, type Lab } from '../test/integration/support/lab';
import { RunningDaemon } from '../test/integration/support/daemon';
import { KNOCKS, SERVER_IF, TABLE, type Keeper } from './net';
import { KEEPER_ENV } from './env';

/**
 * The node flags knockctl runs with when installed (`make install`'s wrapper, the Containerfile's
 * NODE_OPTIONS; test/unit/docs/node-flags.test.ts keeps them in step): the bench measures the
 * program as shipped, the bundle's launcher (KNOCKCTL) under these flags.
 */
export const DAEMON_NODE_FLAGS = NODE_FLAGS;
/** Both keepers: the whole sequence within this many seconds (knockd's seq_timeout). */
export const SEQ_TIMEOUT = 60;

/** A keeper's stdout lines with their arrival time (ns, CLOCK_MONOTONIC). */
export class LineClock {
  readonly lines: { t: bigint; text: string }[] = [];
  constructor(child: ChildProcess) {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      const t = process.hrtime.bigint();
      buf += String(d);
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const text of parts) if (this.lines.length < 100_000) this.lines.push({ t, text });
    });
  }
}

export async function install(lab: Lab, config: string): Promise<void> {
  const r = await lab.knockctl(lab.server.ns, 'install-ruleset', '-c', config);
  if (r.code !== 0) throw new Error(`install-ruleset failed: ${r.stderr}`);
}

/**
 * Our daemon, fresh, as installed: the bundle's launcher with the installed node flags, in a
 * service's environment (KEEPER_ENV). `loopProbe`: a file the bench's event-loop probe writes to
 * (bench/loop-probe.ts).
 */
export async function startOurs(lab: Lab, config: string, opts: { loopProbe?: string } = {}): Promise<Keeper & { clock: LineClock }> {
  await install(lab, config);
  const probe = opts.loopProbe ? ['-r', resolve(REPO, 'dist/bench/loop-probe.js')] : [];
  const env = opts.loopProbe ? { ...KEEPER_ENV, NFTKNOCK_LOOP_PROBE: opts.loopProbe } : KEEPER_ENV;
  const child = lab.start(lab.server.ns, process.execPath, [...DAEMON_NODE_FLAGS, ...probe, KNOCKCTL, 'daemon', '-c', config], env);
  const clock = new LineClock(child);
  const d = new RunningDaemon(child);
  await d.event('start', undefined, 10000);
  await sleep(300);
  return { name: 'nftknock', pid: child.pid as number, child, log: d, clock };
}

/**
 * knockd 0.8 as Debian ships it, on the bridge (`-i`, one interface), verbose (`-v`: stages and
 * OPEN SESAME on stdout). Its capture defaults, from its source: pcap_open_live(snaplen 65535,
 * promiscuous off, read timeout 50 ms), libpcap's default 2 MiB buffer, no immediate mode.
 * `startCommand` defaults to an `nft add element` into our table (a real grant).
 */
export async function startKnockd(lab: Lab, dir: string, config: string, startCommand?: string): Promise<Keeper & { clock: LineClock }> {
  await install(lab, config);
  const conf = join(dir, `knockd-${Date.now()}.conf`);
  const command = startCommand ?? `/usr/sbin/nft add element inet ${TABLE} allowed4 { %IP% . tcp . 22 timeout 30s }`;
  writeFileSync(conf, `[options]
[open]
\tsequence = ${KNOCKS.join(',')}
\tseq_timeout = ${SEQ_TIMEOUT}
\ttcpflags = syn
\tstart_command = ${command}
`);
  const child = lab.start(lab.server.ns, '/usr/sbin/knockd', ['-i', SERVER_IF, '-c', conf, '-v'], KEEPER_ENV);
  const clock = new LineClock(child);
  await waitForLine(child, /listening on/, 10000);
  await sleep(300);
  return { name: 'knockd', pid: child.pid as number, child, clock };
}

export async function stop(k: Keeper): Promise<void> {
  if (k.child.exitCode !== null || k.child.signalCode !== null) return;
  const done = new Promise((r) => k.child.once('exit', r));
  k.child.kill('SIGTERM');
  await Promise.race([done, sleep(3000)]);
  if (k.child.exitCode === null && k.child.signalCode === null) k.child.kill('SIGKILL');
}
