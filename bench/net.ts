/**
 * Network-namespace scenarios: knock-to-open latency, legitimate knocks under a spoofed flood, and
 * memory after many first-stage knocks, for whichever "door keeper" runs in the server namespace
 * (our daemon or knockd). Every loop is bounded in count and in time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { sleep, type Lab } from '../test/integration/support/lab';

export const KNOCKS = ['7000:tcp', '8000:tcp', '9000:udp'];
export const TABLE = 'nkb';

export interface Keeper {
  readonly name: string;
  /** pid of the process that watches packets (ours: node; knockd: knockd). */
  readonly pid: number;
  readonly child: ChildProcess;
  /** Our daemon's parsed log (event counts for the report). */
  readonly log?: { count(event: string): number };
}

export interface LatencyRuns {
  readonly ok: number[];
  readonly failed: number;
}

/**
 * Source addresses for the runs: each used once in the whole bench, so every run is a fresh grant and
 * no run can be helped by an earlier one's element or connection state. Two pools: `link`, the rest of the client link's
 * own /24 (knockd, which in this setup did not react to sources outside its interface's subnet),
 * and `extra`, FRESH_ADDRS /32 addresses in 10.N.100.0/22 with an on-link route from the server.
 */
export const FRESH_ADDRS = 1000;
const next = { link: 0, extra: 0 };
let pool: keyof typeof next = 'extra';

function addrAt(lab: Lab, i: number): string {
  const n = i + 1;
  return lab.clients[0]!.ip4.replace(/\.\d+\.\d+$/, `.${100 + (n >> 8)}.${n & 255}`);
}

/** Which pool the next runs draw from. */
export function useAddressPool(p: keyof typeof next): void {
  pool = p;
}

/** A fresh Lab (new namespaces) starts both pools again: no address of it was used yet. */
export function resetAddressPools(): void {
  next.link = 0;
  next.extra = 0;
}

/** A source address no earlier run of this bench used. */
export function freshAddr(lab: Lab): string {
  const i = next[pool]++;
  if (pool === 'link') {
    if (i >= 240) throw new Error('the bench needs more than 240 fresh addresses on the client link');
    return lab.clients[0]!.ip4.replace(/\.2$/, `.${10 + i}`);
  }
  if (i >= FRESH_ADDRS) throw new Error(`the bench needs more than ${FRESH_ADDRS} fresh client addresses`);
  return addrAt(lab, i);
}

/**
 * The server's interface in the bench: a bridge over both client links, so the legitimate client and
 * the attacker share one segment and a keeper watching one interface (knockd has `-i` for exactly
 * one) sees the flood as well as the knocks.
 */
export const SERVER_IF = 'nkbr0';

/** Replaces the server side of the two veth links by one bridge holding both link addresses. */
export async function bridgeServer(lab: Lab): Promise<void> {
  const ns = lab.server.ns;
  await lab.sh(ns, 'ip', 'link', 'add', SERVER_IF, 'type', 'bridge');
  for (const [i, c] of lab.clients.entries()) {
    const v = `${lab.id}v${i + 1}`;
    await lab.sh(ns, 'ip', 'addr', 'flush', 'dev', v);
    await lab.sh(ns, 'ip', 'link', 'set', v, 'master', SERVER_IF);
    await lab.sh(ns, 'ip', 'addr', 'add', `${c.ip4.replace(/\.2$/, '.1')}/24`, 'dev', SERVER_IF);
  }
  await lab.sh(ns, 'ip', 'link', 'set', SERVER_IF, 'up');
  // The attacker reaches the address the legitimate client knocks on (serverAddr) via its gateway.
  const attacker = lab.clients[1];
  if (attacker) await lab.sh(attacker.ns, 'ip', 'route', 'add', serverAddr(lab).replace(/\.1$/, '.0/24'), 'via', attacker.ip4.replace(/\.2$/, '.1'));
}

export async function addClientAddrs(lab: Lab): Promise<void> {
  const c = lab.clients[0]!;
  const link = Array.from({ length: 240 }, (_, i) => `addr add ${c.ip4.replace(/\.2$/, `.${10 + i}`)}/24 dev ${lab.id}w1`);
  const extra = Array.from({ length: FRESH_ADDRS }, (_, i) => `addr add ${addrAt(lab, i)}/32 dev ${lab.id}w1`);
  const lines = [...link, ...extra].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'nkbench-'));
  writeFileSync(join(dir, 'batch'), `${lines}\n`);
  await lab.sh(c.ns, 'ip', '-batch', join(dir, 'batch'));
  rmSync(dir, { recursive: true, force: true });
  await lab.sh(lab.server.ns, 'ip', 'route', 'add', addrAt(lab, 0).replace(/\.\d+\.\d+$/, '.100.0/22'), 'dev', SERVER_IF);
}

/**
 * The server's address on the client's link. knockd only counts packets addressed to the address
 * of the interface it watches, so every keeper is knocked on this one.
 */
export function serverAddr(lab: Lab): string {
  return lab.clients[0]!.ip4.replace(/\.2$/, '.1');
}

/**
 * Flush grants between phases, so the next phase's addresses start closed: the shared set (knockd's
 * start_command adds there) and our doors' own sets (a set the installed config lacks is skipped).
 */
export async function flushGrants(lab: Lab): Promise<void> {
  for (const set of ['allowed4', 'in4_ssh', 'in4_spa']) await lab.exec(lab.server.ns, 'nft', 'flush', 'set', 'inet', TABLE, set);
}

/** One knock (or SPA datagram) then 0.2 ms connect probes; ms until accepted, or undefined. */
export async function oneRun(lab: Lab, sender: string, src: string, steps: readonly string[], timeoutMs: number): Promise<number | undefined> {
  const r = await lab.exec(lab.clients[0]!.ns, sender, 'latency', serverAddr(lab), src, '22', String(timeoutMs), ...steps);
  const m = /^ok (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) / 1000 : undefined;
}

export async function latencyRuns(lab: Lab, sender: string, n: number, steps: (i: number) => readonly string[], timeoutMs = 2000): Promise<LatencyRuns> {
  const ok: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const ms = await oneRun(lab, sender, freshAddr(lab), steps(i), timeoutMs);
    if (ms === undefined) failed++;
    else ok.push(ms);
    await sleep(20);
  }
  return { ok, failed };
}

/** utime + stime of a process, in clock ticks (100 Hz). */
export function cpuTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return NaN;
  }
}

/** VmRSS and VmHWM in MB, NaN when the process is gone. */
export function memoryMB(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/**
 * Where a process's resident memory is (MB, from /proc/PID/smaps): pages of the node binary (file
 * pages, shared with every other node process), the capture ring (libpcap's packet socket mapping),
 * anonymous memory (V8's heap, malloc, stacks) and everything else (shared libraries, koffi).
 */
export interface RssParts {
  readonly total: number;
  readonly nodeBinary: number;
  readonly ring: number;
  readonly anon: number;
  readonly other: number;
}

export function rssParts(pid: number, nodeBinary = realpathSync(process.execPath)): RssParts {
  const parts = { total: 0, nodeBinary: 0, ring: 0, anon: 0, other: 0 };
  try {
    let name = '';
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        name = head[1] ?? '';
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (!rss) continue;
      const mb = Number(rss[1]) / 1024;
      parts.total += mb;
      if (name === nodeBinary) parts.nodeBinary += mb;
      else if (name.startsWith('socket:')) parts.ring += mb;
      else if (name === '' || name.startsWith('[')) parts.anon += mb;
      else parts.other += mb;
    }
  } catch {
    return { total: NaN, nodeBinary: NaN, ring: NaN, anon: NaN, other: NaN };
  }
  return parts;
}

export interface FloodStep {
  readonly mode: 'ports' | 'knock';
  readonly targetPps: number;
  readonly achievedPps: number;
  readonly legitOk: number;
  readonly legitTried: number;
  readonly legitMedianMs: number;
  readonly cpuPct: number;
  readonly alive: boolean;
}

/** Spoofed sources: 172.16.0.0/12, off every link here (rp_filter is off in the server namespace). */
const SPOOF = '172.16.0.0';

/**
 * `attacker`: from a second client namespace (another host on the server's segment), `client`: from
 * the legitimate client's namespace (the memory phase, no legitimate knocks at the same time). Both
 * to the address the legitimate client knocks on.
 */
function startFlood(lab: Lab, sender: string, mode: string, pps: number, seconds: number, count: number, from: 'attacker' | 'client', base = SPOOF): ChildProcess {
  const host = from === 'attacker' ? lab.clients[1]! : lab.clients[0]!;
  return lab.start(host.ns, sender, ['flood', serverAddr(lab), mode, String(pps), String(seconds), String(count), base, '20', ...KNOCKS]);
}

function floodResult(child: ChildProcess): Promise<{ sent: number; pps: number }> {
  return new Promise((res) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += String(d)));
    const done = (): void => {
      const m = /^sent (\d+) ([\d.]+) (\d+)/m.exec(out);
      res({ sent: Number(m?.[1] ?? 0), pps: Number(m?.[3] ?? 0) });
    };
    if (child.exitCode !== null) done();
    else child.once('close', done);
  });
}

/**
 * Flood for `seconds`; after 0.5 s, run `legit` fresh knocks one after another (1 s limit each)
 * while the flood lasts. The flood comes from an attacker namespace on its own link; the
 * legitimate client knocks on its own link (see startFlood).
 */
export async function floodStep(lab: Lab, sender: string, k: Keeper, mode: 'ports' | 'knock', pps: number, seconds: number, legit: number): Promise<FloodStep> {
  await flushGrants(lab);
  const child = startFlood(lab, sender, mode, pps, seconds, pps > 0 ? Math.ceil(pps * seconds) : 2e9, 'attacker');
  const result = floodResult(child);
  const t0 = Date.now();
  await sleep(500);
  const c0 = cpuTicks(k.pid);
  const c0t = Date.now();
  const ok: number[] = [];
  let tried = 0;
  for (let i = 0; i < legit && Date.now() - t0 < seconds * 1000 - 1100; i++) {
    tried++;
    const ms = await oneRun(lab, sender, freshAddr(lab), KNOCKS, 1000);
    if (ms !== undefined) ok.push(ms);
  }
  const cpuPct = ((cpuTicks(k.pid) - c0) / 100 / ((Date.now() - c0t) / 1000)) * 100;
  const r = await result;
  return {
    mode, targetPps: pps, achievedPps: r.pps, legitOk: ok.length, legitTried: tried, legitMedianMs: median(ok), cpuPct,
    alive: k.child.exitCode === null && k.child.signalCode === null,
  };
}

export interface MemoryStep {
  readonly sources: number;
  readonly sentPps: number;
  readonly rssMB: number;
  readonly hwmMB: number;
}

/** Cumulative: first-stage knocks from `steps[i]` distinct sources in total, RSS after each. */
export async function memorySteps(lab: Lab, sender: string, k: Keeper, steps: readonly number[], pps: number, settleMs: number): Promise<MemoryStep[]> {
  const out: MemoryStep[] = [];
  let done = 0;
  for (const total of steps) {
    const n = total - done;
    const v = 0xac100000 + done; // 172.16.0.0 + sources already sent
    const base = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
    const child = startFlood(lab, sender, 'first', pps, Math.ceil(n / pps) + 5, n, 'client', base);
    const r = await floodResult(child);
    done = total;
    await sleep(settleMs);
    const m = memoryMB(k.pid);
    out.push({ sources: total, sentPps: r.pps, rssMB: m.rss, hwmMB: m.hwm });
  }
  return out;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Detection latency: from the call that sends the last knock (bench/sender.c `knock`, CLOCK_MONOTONIC)
 * to the arrival of the keeper's stdout line announcing that source's success (`match`), read with
 * process.hrtime (the same clock). Includes the pipe to the bench (well under 1 ms). Needs no open
 * port, so it measures knockd with `start_command = /bin/true` too.
 */
export async function detectionRuns(lab: Lab, sender: string, n: number, lines: { lines: readonly { t: bigint; text: string }[] }, match: RegExp, timeoutMs = 2000): Promise<LatencyRuns> {
  const ok: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const src = freshAddr(lab);
    const from = lines.lines.length;
    const r = await lab.exec(lab.clients[0]!.ns, sender, 'knock', serverAddr(lab), src, ...KNOCKS);
    const t0 = /^t0 (\d+)/.exec(r.stdout);
    const deadline = Date.now() + timeoutMs;
    let hit: { t: bigint } | undefined;
    while (t0 && !hit && Date.now() < deadline) {
      hit = lines.lines.slice(from).find((l) => l.text.includes(`${src}"`) || l.text.includes(`${src}:`) ? match.test(l.text) : false);
      if (!hit) await sleep(5);
    }
    if (t0 && hit) ok.push(Number(hit.t - BigInt(t0[1] as string)) / 1e6);
    else failed++;
    await sleep(20);
  }
  return { ok, failed };
}

/** Puts `count` grants (10.200.x.y . tcp . 22, timeout 1 h) into allowed4 with one `nft -f`. */
export async function fillGrants(lab: Lab, count: number): Promise<void> {
  const els = Array.from({ length: count }, (_, i) => `10.${200 + (i >> 16)}.${(i >> 8) & 255}.${i & 255} . tcp . 22 timeout 1h`);
  const dir = mkdtempSync(join(tmpdir(), 'nkbench-'));
  const file = join(dir, 'grants.nft');
  writeFileSync(file, `add element inet ${TABLE} allowed4 { ${els.join(', ')} }\n`);
  try {
    await lab.sh(lab.server.ns, 'nft', '-f', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
