/**
 * fwknop format: datagrams made by Debian's fwknop client 2.6.10 (test/vectors/fwknop/) decode and
 * verify; every refusal has its reason; hostile bytes never throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigText, type SpaDoor } from '../../../src/config';
import { formatService, parseService } from '../../../src/core';
import { buildSpaKeyring, ReplayCache, verifyDatagram } from '../../../src/spa';
import { FKO_MSG, FWKNOP_REJECT_REASONS, HMAC_B64_LEN, buildFwknopDatagram, decodePlaintext, decryptBody, fwknopHmac, hmacMatches, verifyFwknop } from '../../../src/spa/fwknop';
import { SERVER_A, seeded } from './door-fixture';

interface VectorCase {
  name: string;
  key_passphrase?: string;
  hmac_digest: 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';
  datagram: string;
  expect: { rand: string; username: string; timestamp: number; type: number; message: string; nat_access: string; client_timeout: number };
}
const V = JSON.parse(readFileSync(resolve(__dirname, '../../../../test/vectors/fwknop/client-2.6.10.json'), 'utf8')) as { key_base64: string; hmac_key_base64: string; cases: VectorCase[] };
const KEY = Buffer.from(V.key_base64, 'base64');
const HMAC = Buffer.from(V.hmac_key_base64, 'base64');
const vec = (name: string): VectorCase => V.cases.find((c) => c.name === name)!;
const NOW = vec('access-a').expect.timestamp * 1000;

function keyOf(c: VectorCase): Uint8Array {
  return c.key_passphrase !== undefined ? Buffer.from(c.key_passphrase, 'latin1') : KEY;
}

/** A door from config text, the way an admin writes it. */
function door(client: string, extra = '', spaExtra = ''): SpaDoor {
  const text = `doors:
  fw:
    open: ["22/tcp", "53/udp", "443/tcp"]
    timeout: 30
${extra}    spa:
      format: fwknop
${spaExtra}      clients:
        alice: { key: "base64:${V.key_base64}", hmac_key: "base64:${V.hmac_key_base64}"${client} }
`;
  return loadConfigText(text).config.doors[0] as SpaDoor;
}

function run(datagram: string | Uint8Array, d: SpaDoor, over: { src?: string; nowMs?: number; replay?: ReplayCache } = {}) {
  const p = typeof datagram === 'string' ? Buffer.from(datagram, 'latin1') : datagram;
  return verifyFwknop(p, { src: over.src ?? '192.0.2.7', door: d, nowMs: over.nowMs ?? NOW, replay: over.replay ?? new ReplayCache(120_000, 1000) });
}
const why = (r: ReturnType<typeof run>): string => (r.ok ? 'ok' : r.reason);

test('every vector from the fwknop client: HMAC, decryption and fields as the client printed them', () => {
  assert.ok(V.cases.length >= 10);
  for (const c of V.cases) {
    assert.ok(hmacMatches(c.hmac_digest, HMAC, c.datagram), `${c.name}: HMAC`);
    assert.ok(!hmacMatches(c.hmac_digest, Buffer.alloc(64, 7), c.datagram), `${c.name}: another HMAC key fails`);
    const plain = decryptBody(c.datagram.slice(0, -HMAC_B64_LEN[c.hmac_digest]), keyOf(c));
    assert.ok(plain !== undefined, `${c.name}: decrypts`);
    const d = decodePlaintext(plain);
    if (c.expect.type === FKO_MSG.command) {
      assert.deepEqual(d.ok ? 'ok' : d.reason, 'command-refused', c.name);
      continue;
    }
    assert.ok(d.ok, `${c.name}: ${d.ok ? '' : `${d.reason} ${d.detail}`}`);
    const r = d.value;
    assert.equal(r.rand, c.expect.rand, c.name);
    assert.equal(r.username, c.expect.username, c.name);
    assert.equal(r.timestamp, c.expect.timestamp, c.name);
    assert.equal(r.type, c.expect.type, c.name);
    const [addr, ...svc] = c.expect.message.split(',');
    assert.equal(r.addr?.text ?? '0.0.0.0', addr, c.name);
    assert.deepEqual(r.access.map((p) => `${p.proto}/${p.port}`), svc, c.name);
    assert.equal(r.timeoutSec ?? 0, c.expect.client_timeout, c.name);
    assert.equal(r.natAccess ?? '<NULL>', c.expect.nat_access, c.name);
  }
});

test('-a with the sender\'s own address opens what it asked for; the same datagram again is a replay', () => {
  const d = door('');
  const replay = new ReplayCache(120_000, 1000);
  const r = run(vec('access-a').datagram, d, { replay });
  assert.ok(r.ok, why(r));
  assert.deepEqual(r.value.grant, { door: 'fw', family: 4, addr: '192.0.2.7', services: [{ kind: 'local', proto: 'tcp', port: 22 }], timeoutSec: 30 });
  assert.equal(r.value.client, 'alice');
  assert.equal(r.value.append.length, 41);
  assert.equal(why(run(vec('access-a').datagram, d, { replay })), 'replayed');
  assert.equal(why(run(vec('access-a').datagram, d, { replay, src: '198.51.100.9' })), 'replayed', 'from another address too');
  const after = ReplayCache.load(r.value.append, NOW, 120_000, 1000).cache;
  assert.equal(why(run(vec('access-a').datagram, d, { replay: after })), 'replayed', 'the persisted record survives a restart');
});

test('an address other than the source needs allow_address; -s needs require_address off', () => {
  assert.equal(why(run(vec('access-a').datagram, door(''), { src: '198.51.100.9' })), 'address-not-allowed');
  const open = run(vec('access-a').datagram, door(', allow_address: true'), { src: '198.51.100.9' });
  assert.ok(open.ok);
  assert.equal(open.value.grant.addr, '192.0.2.7', 'opened for the address inside, as fwknopd does');
  const s = run(vec('source-s').datagram, door(''), { src: '198.51.100.9' });
  assert.ok(s.ok);
  assert.equal(s.value.grant.addr, '198.51.100.9', '-s: the datagram\'s source');
  const strict = run(vec('source-s').datagram, door(', require_address: true'), { src: '198.51.100.9' });
  assert.equal(why(strict), 'address-required');
  assert.ok(!strict.ok && strict.append, 'an authentic refused datagram is spent');
});

test('-f is capped by max_timeout (stanza, then door) and ignored without one; timeout is FW_ACCESS_TIMEOUT', () => {
  const f = vec('timeout-f').datagram;
  const t = (d: SpaDoor): number => {
    const r = run(f, d);
    assert.ok(r.ok, why(r));
    return r.value.grant.timeoutSec;
  };
  assert.equal(t(door('')), 30);
  assert.equal(t(door(', max_timeout: 300')), 300);
  assert.equal(t(door(', max_timeout: 1h')), 600);
  assert.equal(t(door('', '', '      max_timeout: 120\n')), 120);
  assert.equal(t(door(', timeout: 45')), 45, 'the stanza timeout without a cap');
  const plain = run(vec('access-a').datagram, door(', timeout: 45, max_timeout: 300'));
  assert.ok(plain.ok);
  assert.equal(plain.value.grant.timeoutSec, 45, 'no -f: FW_ACCESS_TIMEOUT');
});

test('OPEN_PORTS, REQUIRE_USERNAME and SOURCE of a stanza', () => {
  const m = vec('multi-ports').datagram;
  const r = run(m, door(', username: alice'));
  assert.ok(r.ok, why(r));
  assert.deepEqual(r.value.grant.services.map(formatService), ['22/tcp', '53/udp', '443/tcp']);
  assert.equal(why(run(m, door(', username: bob'))), 'username-mismatch');
  assert.equal(why(run(m, door(', open: ["22/tcp"]'))), 'access-denied', 'one service outside OPEN_PORTS refuses the request');
  assert.equal(why(run(vec('access-a').datagram, door(', from: ["10.0.0.0/8"]'))), 'source-not-allowed');
  assert.ok(run(vec('access-a').datagram, door(', from: ["192.0.2.0/24"]')).ok);
});

test('HMAC digest types: each stanza names its own; the wrong one is bad-hmac', () => {
  for (const n of ['md5', 'sha1', 'sha384', 'sha512'] as const) {
    const c = vec(`hmac-${n}`);
    assert.ok(run(c.datagram, door(`, hmac_digest: ${n}`)).ok, n);
    assert.equal(why(run(c.datagram, door(''))), 'bad-hmac', `${n} datagram, sha256 stanza`);
  }
  assert.ok(run(vec('digest-sha1').datagram, door('')).ok, 'an SHA-1 inner digest (-m sha1)');
});

test('a KEY passphrase works as its bytes; the right HMAC key with a wrong Rijndael key is bad-decrypt', () => {
  const c = vec('passphrase');
  const pass = Buffer.from(c.key_passphrase!, 'latin1').toString('base64');
  const d = loadConfigText(`doors:\n  fw:\n    open: ["22/tcp"]\n    spa:\n      format: fwknop\n      clients:\n        p: { key: "base64:${pass}", hmac_key: "base64:${V.hmac_key_base64}" }\n`).config.doors[0] as SpaDoor;
  assert.ok(run(c.datagram, d).ok);
  assert.equal(why(run(c.datagram, door(''))), 'bad-decrypt');
});

/** The door of `door('')` whose stanza may open `extra` (port forwards: built in code, as the config does not take them yet). */
function withForward(extra: string, stanzaOnly = false): SpaDoor {
  const d = door('');
  const fwd = parseService(extra);
  assert.ok(fwd.ok);
  const c = d.spa.fwknop![0]!;
  return { ...d, open: [...d.open, fwd.value], spa: { ...d.spa, fwknop: [{ ...c, open: stanzaOnly ? [fwd.value] : [...d.open, fwd.value] }] } };
}

test('NAT access (-N) is the port forward P/tcp=>HOST:Q, granted only when the stanza may open it; commands are refused; both spent', () => {
  const nat = run(vec('nat-access').datagram, door(''));
  assert.equal(why(nat), 'access-denied', 'a door without that forward');
  assert.ok(!nat.ok && nat.append);
  const ok1 = run(vec('nat-access').datagram, withForward('22/tcp=>192.168.1.10:22'));
  assert.ok(ok1.ok, why(ok1));
  assert.deepEqual(ok1.value.grant.services.map(formatService), ['22/tcp=>192.168.1.10:22']);
  assert.equal(why(run(vec('nat-access').datagram, withForward('22/tcp=>192.168.1.11:22'))), 'access-denied', 'another internal host');
  const local = buildFwknopDatagram({ key: KEY, hmacKey: HMAC, rand: '1234567890123456', salt: Buffer.alloc(8, 5), username: 'root', timestamp: NOW / 1000, message: '192.0.2.7,tcp/2222', type: FKO_MSG.localNatAccess, natAccess: '192.0.2.1,22' });
  assert.equal(why(run(local, withForward('2222/tcp=>192.0.2.1:22'))), 'nat-refused', '--nat-local');
  assert.equal(why(run(vec('command').datagram, door(''))), 'command-refused');
});

test('FORCE_NAT: a stanza whose open is a port forward gives it for a plain request of its port', () => {
  const r = run(vec('access-a').datagram, withForward('22/tcp=>192.168.1.10:22', true));
  assert.ok(r.ok, why(r));
  assert.deepEqual(r.value.grant.services.map(formatService), ['22/tcp=>192.168.1.10:22']);
  const both = run(vec('access-a').datagram, withForward('22/tcp=>192.168.1.10:22'));
  assert.ok(both.ok);
  assert.deepEqual(both.value.grant.services.map(formatService), ['22/tcp'], 'the local service first when the stanza has both');
});

test('clock window: stale and future (MAX_SPA_PACKET_AGE is spa.window)', () => {
  const d = door('', '', '      window: 60\n');
  assert.equal(why(run(vec('access-a').datagram, d, { nowMs: NOW + 61_000 })), 'stale');
  assert.equal(why(run(vec('access-a').datagram, d, { nowMs: NOW - 61_000 })), 'future');
  assert.ok(run(vec('access-a').datagram, d, { nowMs: NOW + 60_000 }).ok, 'the edge is accepted');
  const replay = new ReplayCache(120_000, 1000);
  assert.equal(why(run(vec('timeout-f').datagram, d, { nowMs: NOW - 61_000, replay })), 'future');
  assert.equal(why(run(vec('timeout-f').datagram, d, { nowMs: NOW, replay })), 'replayed', 'a datagram from the future is spent: not accepted when its time comes');
});

test('garbage, a tacked-on salt prefix and a wrong HMAC key open nothing', () => {
  const d = door('');
  assert.equal(why(run('A'.repeat(20), d)), 'too-short');
  assert.equal(why(run('A'.repeat(1501), d)), 'too-long');
  assert.equal(why(run(`${'A'.repeat(100)}=`, d)), 'not-base64');
  assert.equal(why(run(`U2FsdGVkX1${vec('access-a').datagram}`, d)), 'bad-prefix');
  assert.equal(why(run('B'.repeat(200), d)), 'bad-hmac');
  const wrong = buildFwknopDatagram({ key: KEY, hmacKey: Buffer.alloc(64, 9), rand: '1234567890123456', salt: Buffer.alloc(8, 1), username: 'eve', timestamp: NOW / 1000, message: '192.0.2.7,tcp/22' });
  assert.equal(why(run(wrong, d)), 'bad-hmac');
});

test('the builder makes what the client makes: a built datagram verifies', () => {
  const g = buildFwknopDatagram({ key: KEY, hmacKey: HMAC, rand: '1234567890123456', salt: Buffer.alloc(8, 3), username: 'root', timestamp: NOW / 1000, message: '192.0.2.7,tcp/443', timeoutSec: 90 });
  const r = run(g, door(', max_timeout: 60'));
  assert.ok(r.ok, why(r));
  assert.deepEqual(r.value.grant.services.map(formatService), ['443/tcp']);
  assert.equal(r.value.grant.timeoutSec, 60);
});

test('the daemon\'s dispatch sends a fwknop door\'s datagrams to this verifier', () => {
  const d = door('');
  const r = verifyDatagram(Buffer.from(vec('access-a').datagram, 'latin1'), { src: '192.0.2.7', door: d, nowMs: NOW, replay: new ReplayCache(120_000, 1000), keyring: buildSpaKeyring(d, SERVER_A) });
  assert.ok(r.ok);
  assert.equal(r.value.client, 'alice');
});

test('hostile bytes: truncations, flips and random datagrams are refused, never thrown', () => {
  const d = door('');
  const base = Buffer.from(vec('access-a').datagram, 'latin1');
  const rnd = seeded(16);
  const reasons = new Set<string>(FWKNOP_REJECT_REASONS);
  for (let i = 0; i < 400; i++) {
    const b = Buffer.from(base.subarray(0, i % 3 === 0 ? Math.floor(rnd() * base.length) : base.length));
    if (i % 3 === 1) {
      const k = Math.floor(rnd() * b.length);
      b[k] = (b[k] ?? 0) ^ (1 + Math.floor(rnd() * 255));
    }
    if (i % 3 === 2) for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    const r = run(b, d);
    assert.ok(!r.ok && reasons.has(r.reason), `case ${i}: ${why(r)}`);
  }
});

test('config: a fwknop door needs hmac_key, takes no public_key, keys within fwknop\'s sizes', () => {
  const cfg = (client: string): string => `doors:\n  fw:\n    open: ["22/tcp"]\n    spa:\n      format: fwknop\n      clients:\n        a: { ${client} }\n`;
  const issues = (text: string): string[] => {
    try {
      loadConfigText(text);
      return [];
    } catch (e) {
      return (e as { issues: { path: string; message: string }[] }).issues.map((i) => `${i.path}: ${i.message}`);
    }
  };
  assert.deepEqual(issues(cfg(`key: "base64:${V.key_base64}"`)), ['doors.fw.spa.clients.a: missing required key "hmac_key"']);
  assert.match(issues(cfg(`key: "base64:${V.key_base64}", hmac_key: "base64:${V.hmac_key_base64}", public_key: "ed25519:x"`)).join(), /unknown key "public_key"/);
  assert.match(issues(cfg(`key: "base64:${Buffer.alloc(33, 1).toString('base64')}", hmac_key: "base64:${V.hmac_key_base64}"`)).join(), /doors\.fw\.spa\.clients\.a\.key: decodes to 33 bytes/);
  assert.match(issues(`doors:\n  s:\n    open: ["22/tcp"]\n    spa:\n      clients:\n        a: { key: "base64:${V.key_base64}", hmac_key: "base64:x" }\n`).join(), /unknown key "hmac_key"/, 'an nftknock door does not take fwknop keys');
  const short = loadConfigText(cfg(`key: "base64:${Buffer.from('pw').toString('base64')}", hmac_key: "base64:${V.hmac_key_base64}"`));
  assert.match(short.warnings.map((w) => `${w.path}: ${w.message}`).join(), /key: is only 2 bytes/);
});

test('SHA3 HMACs (fwknopd accepts them) verify; an authentic GnuPG datagram is refused as such, not as a wrong key', () => {
  for (const dig of ['sha3_256', 'sha3_512'] as const) {
    const g = buildFwknopDatagram({ key: KEY, hmacKey: HMAC, hmacDigest: dig, rand: '1234567890123456', salt: Buffer.alloc(8, 6), username: 'root', timestamp: NOW / 1000, message: '192.0.2.7,tcp/22' });
    assert.ok(run(g, door(`, hmac_digest: ${dig}`)).ok, dig);
    assert.equal(why(run(g, door(''))), 'bad-hmac');
  }
  // What fwknop --gpg-encryption --use-hmac sends: base64 GnuPG data with its "hQ" cut, then the HMAC.
  const gpg = Buffer.concat([Buffer.from([0x85, 0x02, 0x0c]), Buffer.alloc(300, 0x42)]).toString('base64').replace(/=+$/, '').slice(2);
  const fwd = `${gpg}${fwknopHmac('sha256', HMAC, gpg)}`;
  assert.equal(why(run(fwd, door(''))), 'gpg-refused');
});

test('stanzas sharing keys: when the first refuses, the next whose SOURCE holds the sender decides (as fwknopd)', () => {
  const k = `key: "base64:${V.key_base64}", hmac_key: "base64:${V.hmac_key_base64}"`;
  const d = loadConfigText(`doors:\n  fw:\n    open: ["22/tcp", "443/tcp"]\n    spa:\n      format: fwknop\n      clients:\n        any: { ${k}, open: ["22/tcp"] }\n        office: { ${k}, from: ["192.0.2.0/24"], open: ["443/tcp"] }\n`).config.doors[0] as SpaDoor;
  const g = buildFwknopDatagram({ key: KEY, hmacKey: HMAC, rand: '1234567890123456', salt: Buffer.alloc(8, 7), username: 'root', timestamp: NOW / 1000, message: '192.0.2.7,tcp/443' });
  const r = run(g, d);
  assert.ok(r.ok, why(r));
  assert.equal(r.value.client, 'office');
  const away = buildFwknopDatagram({ key: KEY, hmacKey: HMAC, rand: '1234567890123456', salt: Buffer.alloc(8, 8), username: 'root', timestamp: NOW / 1000, message: '198.51.100.9,tcp/443' });
  const denied = run(away, d, { src: '198.51.100.9' });
  assert.equal(why(denied), 'access-denied', 'only the first stanza holds this source');
  assert.ok(!denied.ok && denied.append, 'spent');
});
