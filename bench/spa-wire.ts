/**
 * SPA rejection over the wire: the daemon in a server namespace with 1, 100 or 1,000 clients on one
 * SPA door; a client namespace sends prebuilt datagrams (garbage, then forged ones with a valid mac1
 * from one source) as fast as one Node socket can, bounded in count and time. Figures come from
 * the daemon itself: its rejection counters (status file) and its CPU time (/proc), so the rate is
 * rejections per CPU-second of the daemon, capture and decoding included.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KNOCKCTL, type Lab, sleep } from '../test/integration/support/lab';
import { RunningDaemon, scratch, writeConfig } from '../test/integration/support/daemon';
import { buildSpaPacket, formatIdentityFile, generateClientKey, generateIdentity, serverEntryOf } from '../src/spa';
import { cpuTicks } from './net';
import { SPA_CLIENT_COUNTS, type SpaWireRow } from './spa-reject';
import { KEEPER_ENV } from './env';

const SENDER = `
const [file, host, port, maxCount, maxSec] = process.argv.slice(1);
const pkts = require('fs').readFileSync(file, 'utf8').trim().split('\\n').map((h) => Buffer.from(h, 'hex'));
const s = require('dgram').createSocket('udp4');
const t0 = process.hrtime.bigint(), limit = t0 + BigInt(Math.round(Number(maxSec) * 1e9));
let sent = 0;
function batch() {
  if (sent >= Number(maxCount) || process.hrtime.bigint() > limit) {
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ sent, sec }));
    s.close();
    return;
  }
  let pending = 256;
  for (let i = 0; i < 256; i++, sent++) s.send(pkts[sent % pkts.length], Number(port), host, () => { if (--pending === 0) setImmediate(batch); });
}
batch();
`;

interface Status { updatedAt: string; stats: { spaRejected: Record<string, number> } }

/** The daemon's status file (`status*.json`; this state_dir has one daemon). */
function readStatus(stateDir: string): Status | undefined {
  try {
    const name = readdirSync(stateDir).find((f) => /^status.*\.json$/.test(f));
    return name ? (JSON.parse(readFileSync(join(stateDir, name), 'utf8')) as Status) : undefined;
  } catch {
    return undefined;
  }
}

const total = (s: Status | undefined): number => Object.values(s?.stats.spaRejected ?? {}).reduce((a, b) => a + b, 0);

/** The daemon's counters after `t` (it writes them every 5 s): waits for a fresh, stable reading, at most 15 s. */
async function settledStatus(stateDir: string, t: number): Promise<Status | undefined> {
  let last: Status | undefined;
  for (let i = 0; i < 30; i++) {
    const s = readStatus(stateDir);
    if (s && Date.parse(s.updatedAt) > t && last && Date.parse(last.updatedAt) > t && total(s) === total(last)) return s;
    if (s && Date.parse(s.updatedAt) > t) last = s;
    await sleep(500);
  }
  return last;
}

export async function spaWireRuns(freshLab: () => Promise<Lab>, opts: { count: number; seconds: number; nodeFlags?: readonly string[] }): Promise<SpaWireRow[]> {
  const rows: SpaWireRow[] = [];
  for (const n of SPA_CLIENT_COUNTS) {
    const lab = await freshLab();
    const dir = scratch();
    const state = join(dir, 'state');
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const identity = generateIdentity();
    writeFileSync(join(state, 'spa-identity'), formatIdentityFile(identity), { mode: 0o600 });
    const clients = Array.from({ length: n }, (_, i) => `        c${i}: { key: "${(serverEntryOf(generateClientKey('aead')) as { key: string }).key}" }`).join('\n');
    const cfg = writeConfig(dir, `table: kt\nstate_dir: ${state}\ndoors:\n  spa:\n    spa:\n      port: 62201\n      clients:\n${clients}\n    open: ["22/tcp"]\n`);
    const inst = await lab.knockctl(lab.server.ns, 'install-ruleset', '-c', cfg);
    if (inst.code !== 0) throw new Error(`install-ruleset failed: ${inst.stderr}`);
    const d = new RunningDaemon(lab.start(lab.server.ns, process.execPath, [...(opts.nodeFlags ?? []), KNOCKCTL, 'daemon', '-c', cfg], KEEPER_ENV));
    await d.event('start', undefined, 10000);
    const pid = d.child.pid as number;
    const stranger = generateClientKey('aead');
    const kinds: [SpaWireRow['kind'], () => Uint8Array][] = [
      ['garbage', () => randomBytes(128 + 32 * Math.floor(Math.random() * 4))],
      ['forged', () => buildSpaPacket({ key: stranger, server: identity.pub, door: 'spa', nowMs: Date.now() })],
    ];
    for (const [kind, make] of kinds) {
      const file = join(dir, `${kind}.hex`);
      writeFileSync(file, `${Array.from({ length: 512 }, () => Buffer.from(make()).toString('hex')).join('\n')}\n`);
      const before = await settledStatus(state, Date.now() - 1) ?? readStatus(state);
      const cpu0 = cpuTicks(pid);
      const out = await lab.exec(lab.clients[0]!.ns, process.execPath, '-e', SENDER, file, lab.server.ip4, '62201', String(opts.count), String(opts.seconds));
      const sent = JSON.parse(out.stdout) as { sent: number; sec: number };
      const after = await settledStatus(state, Date.now());
      const cpuSec = (cpuTicks(pid) - cpu0) / 100;
      const rejected = total(after) - total(before);
      const reasons: Record<string, number> = {};
      for (const [r, c] of Object.entries(after?.stats.spaRejected ?? {})) {
        const delta = c - (before?.stats.spaRejected[r] ?? 0);
        if (delta > 0) reasons[r] = delta;
      }
      rows.push({ clients: n, kind, sent: sent.sent, sendSeconds: sent.sec, rejected, daemonCpuSec: cpuSec, reasons });
      process.stderr.write(`  spa wire ${n} client(s) ${kind}: ${JSON.stringify(rows[rows.length - 1])}\n`);
    }
    d.child.kill('SIGTERM');
    await Promise.race([d.exited(), sleep(3000)]);
    await lab.down();
  }
  return rows;
}
