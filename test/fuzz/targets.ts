/**
 * Fuzz targets: each has a seed corpus, a way to make the next input from a PRNG, and a property
 * check that throws (a FuzzFailure) when the code under test misbehaves. A thrown exception from
 * the code under test is itself a failure unless the target's contract allows it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFrame, DECODE_REASONS } from '../../src/packet';
import { parseAddr, ConfigError, KnockctlError } from '../../src/core';
import { loadConfigText } from '../../src/config';
import { buildSpaKeyring, parseIdentityFile, ReplayCache, verifySpa, SPA_REJECT_REASONS, type SpaKeyring } from '../../src/spa';
import { computeMac1 } from '../../src/spa/envelope';
import type { SpaDoor } from '../../src/config';
import { makeDoor, type ClientText, type DoorText } from '../unit/spa/door-fixture';
import { garbage, int, mutateBytes, mutateText, pick, type Rng } from './mutate';

export const REPO = join(__dirname, '../../..');

export class FuzzFailure extends Error {}

export interface FuzzTarget<T> {
  readonly name: string;
  /** Next input: a mutation of a corpus entry, or garbage. */
  next(r: Rng): T;
  /** Throws FuzzFailure (or anything else) when a property is broken. */
  check(input: T): void;
  /** Printable, and pasteable into a regression test. */
  show(input: T): string;
}

function fail(msg: string): never {
  throw new FuzzFailure(msg);
}

// ---- frame decoder ---------------------------------------------------------------------------

const LINK_TYPES = [1, 12, 14, 101, 113, 276];
interface FrameInput { linkType: number; data: Uint8Array }

function loadFrames(): FrameInput[] {
  const dir = join(REPO, 'test/fixtures/frames');
  return readdirSync(dir).filter((n) => n.endsWith('.hex')).sort().map((n) => {
    const text = readFileSync(join(dir, n), 'utf8');
    const lt = Number(/^# linktype (\d+)/.exec(text)?.[1]);
    const hex = text.split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
    return { linkType: lt, data: Uint8Array.from(Buffer.from(hex, 'hex')) };
  });
}

export function checkFrame(input: FrameInput): void {
  const o = decodeFrame({ linkType: input.linkType, data: input.data, at: 0, ifname: 'fuzz' });
  if (!o.ok) {
    if (!(DECODE_REASONS as readonly string[]).includes(o.reason)) fail(`unknown reason ${String(o.reason)}`);
    return;
  }
  const e = o.value;
  if (e.family !== 4 && e.family !== 6) fail(`family ${String(e.family)}`);
  for (const a of [e.src, e.dst]) {
    const p = parseAddr(a);
    if (!p || p.text !== a || p.family !== e.family) fail(`address ${a} does not parse back as IPv${e.family}`);
  }
  if (e.proto !== 'tcp' && e.proto !== 'udp') fail(`proto ${String(e.proto)}`);
  for (const p of [e.sport, e.dport]) if (!Number.isInteger(p) || p < 0 || p > 65535) fail(`port ${p}`);
  if (!Number.isInteger(e.tcpFlags) || e.tcpFlags < 0 || e.tcpFlags > 255 || (e.proto === 'udp' && e.tcpFlags !== 0)) fail(`tcpFlags ${e.tcpFlags}`);
  const d = input.data;
  if (e.payload.buffer !== d.buffer || e.payload.byteOffset < d.byteOffset || e.payload.byteOffset + e.payload.length > d.byteOffset + d.length) fail('payload outside the frame');
}

export function frameTarget(): FuzzTarget<FrameInput> {
  const corpus = loadFrames();
  const bytes = corpus.map((c) => c.data);
  return {
    name: 'decode-frame',
    next(r) {
      if (int(r, 10) === 0) return { linkType: pick(r, LINK_TYPES), data: garbage(r, 256) };
      const seed = pick(r, corpus);
      // Mostly the seed's own link type; sometimes another one, so every decoder sees every layout.
      const linkType = int(r, 5) === 0 ? pick(r, LINK_TYPES) : seed.linkType;
      return { linkType, data: mutateBytes(r, seed.data, bytes, 512) };
    },
    check: checkFrame,
    show: (i) => `linkType ${i.linkType} data ${Buffer.from(i.data).toString('hex')}`,
  };
}

// ---- SPA verifier ------------------------------------------------------------------------------

interface Vector {
  input: { mode: string };
  server: { serverPrivate: string; door: DoorText & { name: string }; client: ClientText; src: string; nowMs: number };
  packet: string;
}
export interface SpaCase { door: SpaDoor; keyring: SpaKeyring; src: string; nowMs: number; good: Uint8Array }
interface SpaInput { c: SpaCase; packet: Uint8Array; mutated: boolean }

export function spaCases(): SpaCase[] {
  const out: SpaCase[] = [];
  for (const f of ['aead.json', 'ed25519.json']) {
    const j = JSON.parse(readFileSync(join(REPO, 'test/vectors/spa', f), 'utf8')) as { vectors: Vector[] };
    for (const v of j.vectors) {
      const id = parseIdentityFile(`nftknock-spa-identity v2 x25519 base64:${v.server.serverPrivate}\n`);
      if (!id.ok) throw new Error(`${f}: bad serverPrivate`);
      const door = makeDoor(v.server.door, [v.server.client]);
      out.push({ door, keyring: buildSpaKeyring(door, id.value), src: v.server.src, nowMs: v.server.nowMs, good: Uint8Array.from(Buffer.from(v.packet, 'hex')) });
    }
  }
  return out;
}

export function checkSpa(input: SpaInput): void {
  // A fresh cache each time, so a mutated packet can only be refused for what it is, not as a replay.
  const replay = new ReplayCache(input.c.door.spa.windowSec * 1000, 1000);
  const r = verifySpa(input.packet, { src: input.c.src, door: input.c.door, nowMs: input.c.nowMs, replay, keyring: input.c.keyring });
  if (r.ok) {
    if (input.mutated) fail(`a mutated packet was accepted (client ${r.value.client})`);
    return;
  }
  if (!(SPA_REJECT_REASONS as readonly string[]).includes(r.reason)) fail(`unknown reason ${String(r.reason)}`);
  if (!input.mutated) fail(`the unmutated vector was refused: ${r.reason}`);
  if (replay.size !== 0) fail('a refused packet left a nonce in the replay cache');
}

export function spaTarget(): FuzzTarget<SpaInput> {
  const cases = spaCases();
  const goods = cases.map((c) => c.good);
  return {
    name: 'verify-spa',
    next(r) {
      const c = pick(r, cases);
      const k = int(r, 20);
      if (k === 0) return { c, packet: c.good, mutated: false };
      let packet = k < 3 ? garbage(r, 1600) : mutateBytes(r, c.good, goods, 1600);
      // Half the mutations get a valid mac1 (anyone holding the server identity can do that), so the
      // envelope, lookup, authenticator and body checks are fuzzed too, not only mac1.
      if (k >= 3 && k % 2 === 0 && packet.length > 16) {
        packet = Uint8Array.from(packet);
        packet.set(computeMac1(c.keyring.mac1, packet.subarray(0, packet.length - 16)), packet.length - 16);
      }
      // A splice can rebuild a vector's packet byte for byte: that one is genuine, checked against its own case.
      const owner = cases.find((x) => Buffer.from(packet).equals(Buffer.from(x.good)));
      return owner ? { c: owner, packet, mutated: false } : { c, packet, mutated: true };
    },
    check: checkSpa,
    show: (i) => `door ${i.c.door.name} src ${i.c.src} nowMs ${i.c.nowMs} packet ${Buffer.from(i.packet).toString('hex')}`,
  };
}

// ---- config loader -----------------------------------------------------------------------------

const KEY = 'base64:Vl3jrSHKs1Ujc4l6pLT9z7m8tXoZ1CfeNFQaGHnwqU8=';
const GOOD_CONFIGS = [
  '{}',
  `table: gate
interfaces: [eth0, eth1]
state_dir: /var/lib/knockctl
log_level: info
limits: { max_sources: 1000, max_replay: 5000 }
base: { policy: drop, allow: ["80/tcp", "53/udp"], icmp: true, allow_from: ["192.0.2.0/24", "2001:db8::/32"] }
doors:
  ssh:
    sequence: ["7000:tcp", "8000", "9000:udp"]
    seq_timeout: 15s
    tcpflags: syn,!ack
    open: ["22/tcp"]
    timeout: 5m
    from: ["10.0.0.0/8"]
    start_command: /usr/bin/logger knocked %IP%
    stop_command: ["/usr/bin/logger", "closed", "%IP%"]
    cmd_timeout: 10
  close:
    sequence: ["9000:tcp", "8000:tcp", "7000:tcp"]
    open: ["22/tcp"]
    action: revoke
  spa:
    spa:
      port: 62000
      window: 1m
      max_timeout: 10m
      allow_address: true
      nat_prefix: { ipv4: 24, ipv6: 64 }
      clients: { alice: { key: "${KEY}", open: ["22/tcp"] } }
    open: ["22/tcp", "443/tcp"]
    timeout: 60
`,
  `base:
  policy: guard
doors:
  rot:
    sequence:
      rotate: { secret_file: /etc/knockctl/rot.key, length: 3, step: 30s, ports: "20000-40000", protocols: [tcp, udp] }
    open: ["22/tcp"]
  otp:
    one_time_sequences: /etc/knockctl/otp.txt
    open: ["22/tcp"]
    target: ["192.0.2.1/32"]
  kern:
    mode: kernel
    sequence: ["7000", "8000"]
    open: ["22/tcp"]
`,
  '{"table": "kt", "doors": {"ssh": {"sequence": ["7000:tcp", "8000:tcp"], "open": ["22/tcp"], "timeout": 30}}}',
  'defaults: &d\n  open: ["22/tcp"]\n  timeout: 30\ndoors:\n  a:\n    <<: *d\n    sequence: ["1000"]\n',
];

function configCorpus(): string[] {
  const out = [...GOOD_CONFIGS];
  const bad = join(REPO, 'test/fixtures/config/bad-cases.json');
  if (existsSync(bad)) for (const c of JSON.parse(readFileSync(bad, 'utf8')) as { text: string }[]) out.push(c.text);
  return out;
}

export function checkConfig(text: string): void {
  try {
    loadConfigText(text, 'fuzz.yaml');
  } catch (e) {
    if (e instanceof ConfigError) {
      if (!Array.isArray(e.issues) || e.issues.length === 0) fail('ConfigError without issues');
      for (const i of e.issues) if (typeof i.path !== 'string' || typeof i.message !== 'string' || !i.message) fail(`malformed issue ${JSON.stringify(i)}`);
      return;
    }
    throw e;
  }
}

export function configTarget(): FuzzTarget<string> {
  const corpus = configCorpus();
  return {
    name: 'load-config',
    next: (r) => mutateText(r, pick(r, corpus), corpus),
    check: checkConfig,
    show: (t) => JSON.stringify(t),
  };
}

// ---- knockd.conf importer (present only once the importer has landed) ----------------------------

type Importer = (text: string, file?: string) => { yaml: string; warnings: string[] };

function loadImporter(): Importer | undefined {
  const file = join(__dirname, '../../src/config/knockd-import.js');
  if (!existsSync(file)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { importKnockd?: Importer };
  return mod.importKnockd;
}

const KNOCKD_CONFS = [
  `[options]
\tUseSyslog
\tlogfile = /var/log/knockd.log
\tinterface = eth0

[openSSH]
\tsequence    = 7000,8000,9000
\tseq_timeout = 5
\tcommand     = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
\ttcpflags    = syn

[closeSSH]
\tsequence    = 9000,8000,7000
\tseq_timeout = 5
\tcommand     = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
\ttcpflags    = syn
`,
  `[options]
\tlogfile = /var/log/knockd.log

[opencloseSSH]
\tsequence      = 2222:udp,3333:tcp,4444:udp
\tseq_timeout   = 15
\ttcpflags      = syn,ack
\tstart_command = /usr/sbin/iptables -A INPUT -s %IP% -p tcp --syn --dport 22 -j ACCEPT
\tcmd_timeout   = 10
\tstop_command  = /usr/sbin/iptables -D INPUT -s %IP% -p tcp --syn --dport 22 -j ACCEPT
`,
  `[options]
\tinterface = eth1
[otp]
\tone_time_sequences = /etc/knockd/otp
\tseq_timeout = 20
\tcommand = /usr/sbin/nft add element inet filter allowed { %IP% . 443 }
\ttarget = 192.0.2.1
`,
];

export function checkImport(importer: Importer, text: string): void {
  let out: { yaml: string; warnings: string[] };
  try {
    out = importer(text, 'knockd.conf');
  } catch (e) {
    if (e instanceof KnockctlError) return;
    throw e;
  }
  if (typeof out.yaml !== 'string' || !Array.isArray(out.warnings)) fail('importer returned a malformed result');
  // What the importer writes must be a config our loader takes, or at worst refuses with a ConfigError.
  checkConfig(out.yaml);
}

export function importTarget(): FuzzTarget<string> | undefined {
  const importer = loadImporter();
  if (!importer) return undefined;
  const corpus = [...KNOCKD_CONFS];
  const dir = join(REPO, 'test/fixtures/knockd');
  if (existsSync(dir)) for (const n of readdirSync(dir).filter((f) => f.endsWith('.conf')).sort()) corpus.push(readFileSync(join(dir, n), 'utf8'));
  return {
    name: 'import-knockd',
    next: (r) => mutateText(r, pick(r, corpus), corpus),
    check: (t) => checkImport(importer, t),
    show: (t) => JSON.stringify(t),
  };
}
