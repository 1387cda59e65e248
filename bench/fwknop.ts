/**
 * fwknop-format SPA: rejection of garbage and forged fwknop datagrams, nftknock's `spa.format:
 * fwknop` door beside Debian's fwknopd (fwknop-server), with legitimate datagrams during the flood.
 *   node dist/bench/fwknop.js inproc SECONDS   in-process rates, one JSON line (run.ts pins it to one core)
 * The network part is `fwknopNet`, called by bench/run.ts. Every loop is bounded in count and time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigText, type SpaDoor } from '../src/config';
import { ReplayCache } from '../src/spa';
import { buildFwknopDatagram, verifyFwknop } from '../src/spa/fwknop';
import { KNOCKCTL, type Lab, sleep, waitForLine } from '../test/integration/support/lab';
import { RunningDaemon, writeConfig } from '../test/integration/support/daemon';
import { cpuTicks, freshAddr, median, oneRun, serverAddr, SERVER_IF, TABLE, useAddressPool, type Keeper, type LatencyRuns } from './net';
import { DAEMON_NODE_FLAGS } from './keepers';
import { KEEPER_ENV } from './env';

const PORT = 62201;

export interface FwknopRate {
  readonly name: string;
  readonly perSec: number;
  readonly outcome: string;
}

export interface FwknopFloodStep {
  readonly kind: 'garbage' | 'forged';
  readonly targetPps: number;
  readonly achievedPps: number;
  readonly legitOk: number;
  readonly legitTried: number;
  readonly legitMedianMs: number;
  readonly cpuPct: number;
  readonly alive: boolean;
}

export interface FwknopKeeperResults {
  readonly latency: LatencyRuns;
  readonly flood: FwknopFloodStep[];
}

export interface FwknopResults {
  readonly params: FwknopNetParams & { readonly inprocSec: number };
  readonly inproc: FwknopRate[];
  readonly ours: FwknopKeeperResults;
  readonly fwknopd: FwknopKeeperResults | string;
  readonly fwknopdVersion: string;
}

interface Keys {
  readonly key: Buffer;
  readonly hmac: Buffer;
}

const newKeys = (): Keys => ({ key: randomBytes(32), hmac: randomBytes(64) });
const rand16 = (): string => Array.from(randomBytes(16), (b) => String(b % 10)).join('');

/** A datagram as `fwknop -A tcp/22 -a ADDR --use-hmac` sends it (the builder matches the client's vectors). */
export function fwknopDatagram(k: Keys, addr: string, nowSec = Math.floor(Date.now() / 1000)): string {
  return buildFwknopDatagram({ key: k.key, hmacKey: k.hmac, rand: rand16(), salt: randomBytes(8), username: 'bench', timestamp: nowSec, message: `${addr},tcp/22` });
}

/** Random text in the base64 alphabet, the length of a typical datagram: passes every check before the HMAC. */
function garbage(): string {
  return randomBytes(135).toString('base64').replace(/[=]/g, '').slice(0, 180);
}

function doorText(stanzas: readonly Keys[], table = 'b', stateDir?: string): string {
  const clients = stanzas.map((s, i) => `        c${i}: { key: "base64:${s.key.toString('base64')}", hmac_key: "base64:${s.hmac.toString('base64')}" }`).join('\n');
  return `table: ${table}\n${stateDir ? `interfaces: [any]\nstate_dir: ${stateDir}\n` : ''}doors:\n  fwknop:\n    spa:\n      format: fwknop\n      port: ${PORT}\n      clients:\n${clients}\n    open: ["22/tcp"]\n    timeout: 30\n`;
}

/** verifyFwknop on pre-built datagrams, for `seconds` per case (checked every 256 calls). */
export function fwknopInproc(seconds: number): FwknopRate[] {
  const out: FwknopRate[] = [];
  const rate = (name: string, door: SpaDoor, packets: readonly Uint8Array[], replay: ReplayCache): void => {
    const now = Date.now();
    const t0 = process.hrtime.bigint();
    const limit = t0 + BigInt(Math.round(seconds * 1e9));
    let i = 0;
    let last = '';
    for (; i < 50_000_000; i++) {
      const r = verifyFwknop(packets[i % packets.length] as Uint8Array, { src: '10.1.2.3', door, nowMs: now, replay });
      last = r.ok ? 'accepted' : r.reason;
      if ((i & 255) === 0 && process.hrtime.bigint() > limit) break;
    }
    out.push({ name, perSec: (i + 1) / (Number(process.hrtime.bigint() - t0) / 1e9), outcome: last });
  };
  const attacker = newKeys();
  for (const n of [1, 10]) {
    const stanzas = Array.from({ length: n }, newKeys);
    const door = loadConfigText(doorText(stanzas)).config.doors[0] as SpaDoor;
    const replay = new ReplayCache(120_000, 1_000_000);
    const g = Array.from({ length: 1024 }, () => Buffer.from(garbage(), 'latin1'));
    const f = Array.from({ length: 1024 }, () => Buffer.from(fwknopDatagram(attacker, '10.1.2.3'), 'latin1'));
    rate(`garbage (random base64, 180 characters), ${n} stanza${n > 1 ? 's' : ''}`, door, g, replay);
    rate(`forged (well-formed datagrams under another key pair), ${n} stanza${n > 1 ? 's' : ''}`, door, f, replay);
    const captured = Buffer.from(fwknopDatagram(stanzas[n - 1] as Keys, '10.1.2.3'), 'latin1');
    verifyFwknop(captured, { src: '10.1.2.3', door, nowMs: Date.now(), replay });
    rate(`replays of one captured authentic datagram (HMAC, then the digest cache), ${n} stanza${n > 1 ? 's' : ''}`, door, [captured], replay);
  }
  return out;
}

/** Flood from the attacker namespace: datagrams from `file` (one per line), cycled, at `pps` (0 = as fast as it goes). */
function startFlood(lab: Lab, file: string, pps: number, seconds: number): Promise<{ pps: number }> {
  const code = `const fs=require('fs'),d=require('dgram').createSocket('udp4');` +
    `const ps=fs.readFileSync(${JSON.stringify(file)},'utf8').trim().split('\\n').map(l=>Buffer.from(l,'latin1'));` +
    `const pps=${pps},secs=${seconds};let sent=0,inflight=0;const t0=process.hrtime.bigint();` +
    `const el=()=>Number(process.hrtime.bigint()-t0)/1e9;` +
    `d.connect(${PORT},${JSON.stringify(serverAddr(lab))},()=>{(function tick(){const e=el();if(e>=secs){const t=el();d.close();console.log('sent '+sent+' '+Math.round(sent/t));return}` +
    `let due=pps>0?Math.floor(e*pps)-sent:512;due=Math.min(due,2048-inflight);` +
    `for(let i=0;i<due;i++){inflight++;d.send(ps[sent%ps.length],()=>inflight--);sent++}` +
    `if(pps>0&&due<=0)setTimeout(tick,1);else setImmediate(tick)})()});`;
  const child = lab.start(lab.clients[1]!.ns, process.execPath, ['-e', code]);
  return new Promise((res) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += String(b)));
    child.once('close', () => res({ pps: Number(/^sent \d+ (\d+)/m.exec(out)?.[1] ?? 0) }));
  });
}

async function floodStep(lab: Lab, sender: string, k: Keeper, keys: Keys, kind: 'garbage' | 'forged', file: string, pps: number, seconds: number, legit: number): Promise<FwknopFloodStep> {
  // The shared set (fwknopd's CMD_CYCLE_OPEN adds there) and our door's own set; a set the keeper's table lacks is skipped.
  for (const set of ['allowed4', 'in4_fwknop']) await lab.exec(lab.server.ns, 'nft', 'flush', 'set', 'inet', TABLE, set);
  const flood = startFlood(lab, file, pps, seconds);
  const t0 = Date.now();
  await sleep(500);
  const c0 = cpuTicks(k.pid);
  const c0t = Date.now();
  const ok: number[] = [];
  let tried = 0;
  for (let i = 0; i < legit && Date.now() - t0 < seconds * 1000 - 1100; i++) {
    tried++;
    const src = freshAddr(lab);
    const ms = await oneRun(lab, sender, src, [`${PORT}:udp:${Buffer.from(fwknopDatagram(keys, src), 'latin1').toString('hex')}`], 1000);
    if (ms !== undefined) ok.push(ms);
  }
  const cpuPct = ((cpuTicks(k.pid) - c0) / 100 / ((Date.now() - c0t) / 1000)) * 100;
  const r = await flood;
  return { kind, targetPps: pps, achievedPps: r.pps, legitOk: ok.length, legitTried: tried, legitMedianMs: median(ok), cpuPct, alive: k.child.exitCode === null && k.child.signalCode === null };
}

export interface FwknopNetParams {
  readonly lat: number;
  readonly legit: number;
  readonly rates: readonly number[];
  readonly floodSec: number;
}

async function keeperRuns(lab: Lab, sender: string, dir: string, k: Keeper, keys: Keys, p: FwknopNetParams): Promise<FwknopKeeperResults> {
  // The large pool: the link's own 240 addresses are spent by knockd's phases in a full run.
  useAddressPool('extra');
  // Not latencyRuns: the datagram must name the run's fresh source address (-a), so it is built per run.
  const ok: number[] = [];
  let failed = 0;
  for (let i = 0; i < p.lat; i++) {
    const src = freshAddr(lab);
    const ms = await oneRun(lab, sender, src, [`${PORT}:udp:${Buffer.from(fwknopDatagram(keys, src), 'latin1').toString('hex')}`], 2000);
    if (ms === undefined) failed++;
    else ok.push(ms);
    await sleep(20);
  }
  const lat: LatencyRuns = { ok, failed };
  const files = { garbage: join(dir, `garbage-${k.name}`), forged: join(dir, `forged-${k.name}`) };
  const attacker = newKeys();
  writeFileSync(files.garbage, `${Array.from({ length: 4096 }, garbage).join('\n')}\n`);
  writeFileSync(files.forged, `${Array.from({ length: 4096 }, () => fwknopDatagram(attacker, lab.clients[1]!.ip4)).join('\n')}\n`);
  const flood: FwknopFloodStep[] = [];
  for (const pps of p.rates) {
    for (const kind of ['garbage', 'forged'] as const) {
      flood.push(await floodStep(lab, sender, k, keys, kind, files[kind], pps, p.floodSec, p.legit));
      process.stderr.write(`  ${k.name} fwknop flood ${kind} ${pps || 'max'}: ${JSON.stringify(flood[flood.length - 1])}\n`);
    }
  }
  return { latency: lat, flood };
}

async function startOurs(lab: Lab, dir: string, keys: Keys): Promise<Keeper> {
  mkdirSync(join(dir, 'state'), { recursive: true });
  const cfg = writeConfig(dir, doorText([keys], TABLE, join(dir, 'state')), 'fwknop-door.yaml');
  const r = await lab.knockctl(lab.server.ns, 'install-ruleset', '-c', cfg);
  if (r.code !== 0) throw new Error(`install-ruleset failed: ${r.stderr}`);
  const child = lab.start(lab.server.ns, process.execPath, [...DAEMON_NODE_FLAGS, KNOCKCTL, 'daemon', '-c', cfg], KEEPER_ENV);
  const d = new RunningDaemon(child);
  await d.event('start', undefined, 10000);
  await sleep(300);
  return { name: 'nftknock', pid: child.pid as number, child, log: d };
}

/** Debian's fwknopd on the bridge; a grant is CMD_CYCLE_OPEN `nft add element` into our table (as knockd's). */
async function startFwknopd(lab: Lab, dir: string, keys: Keys): Promise<Keeper> {
  const cfgDir = join(dir, 'fwknopd');
  mkdirSync(join(cfgDir, 'run'), { recursive: true, mode: 0o700 });
  const doorCfg = writeConfig(dir, doorText([keys], TABLE, join(dir, 'state')), 'fwknopd-ruleset.yaml');
  const r = await lab.knockctl(lab.server.ns, 'install-ruleset', '-c', doorCfg);
  if (r.code !== 0) throw new Error(`install-ruleset failed: ${r.stderr}`);
  writeFileSync(join(cfgDir, 'fwknopd.conf'), `PCAP_INTF ${SERVER_IF};\nPCAP_FILTER udp port ${PORT};\nENABLE_PCAP_PROMISC N;\n`, { mode: 0o600 });
  writeFileSync(join(cfgDir, 'access.conf'), `SOURCE ANY\nKEY_BASE64 ${keys.key.toString('base64')}\nHMAC_KEY_BASE64 ${keys.hmac.toString('base64')}\n`
    + `CMD_CYCLE_OPEN /usr/sbin/nft add element inet ${TABLE} allowed4 { $IP . tcp . 22 timeout 30s }\nCMD_CYCLE_CLOSE NONE\nCMD_CYCLE_TIMER 30\n`, { mode: 0o600 });
  const child = lab.start(lab.server.ns, '/usr/sbin/fwknopd', ['-f', '-c', join(cfgDir, 'fwknopd.conf'), '-a', join(cfgDir, 'access.conf'),
    '-d', join(cfgDir, 'digest.cache'), '-p', join(cfgDir, 'fwknopd.pid'), '-r', join(cfgDir, 'run'), '-i', SERVER_IF], KEEPER_ENV);
  await waitForLine(child, /Starting fwknopd|pcap|listening/i, 10000);
  await sleep(500);
  return { name: 'fwknopd', pid: child.pid as number, child };
}

async function stop(k: Keeper): Promise<void> {
  if (k.child.exitCode !== null || k.child.signalCode !== null) return;
  const done = new Promise((r) => k.child.once('exit', r));
  k.child.kill('SIGTERM');
  await Promise.race([done, sleep(3000)]);
  if (k.child.exitCode === null && k.child.signalCode === null) k.child.kill('SIGKILL');
}

/** Both keepers, each in a fresh lab from `freshLab` (bridged, with fresh client addresses and a service on 22). */
export async function fwknopNet(freshLab: () => Promise<Lab>, sender: string, dir: string, p: FwknopNetParams): Promise<{ ours: FwknopKeeperResults; fwknopd: FwknopKeeperResults | string }> {
  const keys = newKeys();
  let lab = await freshLab();
  const ours = await startOurs(lab, join(dir, 'ours'), keys);
  const o = await keeperRuns(lab, sender, dir, ours, keys, p);
  await stop(ours);
  await lab.down();
  lab = await freshLab();
  let f: FwknopKeeperResults | string;
  try {
    const fd = await startFwknopd(lab, dir, keys);
    f = await keeperRuns(lab, sender, dir, fd, keys, p);
    await stop(fd);
  } catch (e) {
    f = `fwknopd could not be run: ${(e as Error).message.split('\n')[0]}`;
  }
  await lab.down();
  return { ours: o, fwknopd: f };
}

if (require.main === module && process.argv[2] === 'inproc') {
  process.stdout.write(`${JSON.stringify(fwknopInproc(Number(process.argv[3] ?? 2)))}\n`);
}
