import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpaPacket, buildSpaKeyring, generateClientKey, ReplayCache, serverEntryOf, verifySpa, SPA_REJECT_REASONS, type SpaClientKey, type SpaPacketInput } from '../../../src/spa';
import type { SpaDoor } from '../../../src/config';
import { counterRandom, makeDoor, ports, seeded, type DoorText } from './door-fixture';

const NOW = 1_767_225_600_000;
const ALICE: SpaClientKey = { type: 'aead', key: new Uint8Array(32).fill(1) };
const BOB: SpaClientKey = { type: 'ed25519', seed: new Uint8Array(32).fill(2) };
const SRC = '198.51.100.7';

function door(d: Partial<DoorText> = {}): SpaDoor {
  return makeDoor({ open: ['22/tcp', '443/tcp'], timeout: 30, window: 60, ...d }, [
    { name: 'alice', ...(serverEntryOf(ALICE) as { key: string }) },
    { name: 'bob', ...(serverEntryOf(BOB) as { public_key: string }), open: ['22/tcp'] },
  ]);
}

const rnd = counterRandom(100);
function packet(over: Partial<SpaPacketInput> = {}): Uint8Array {
  return buildSpaPacket({ key: ALICE, access: ports(['22/tcp']), nowMs: NOW, random: rnd, ...over });
}

function run(p: Uint8Array, over: { door?: SpaDoor; src?: string; nowMs?: number; replay?: ReplayCache } = {}) {
  return verifySpa(p, { src: over.src ?? SRC, door: over.door ?? door(), nowMs: over.nowMs ?? NOW, replay: over.replay ?? new ReplayCache(120_000, 1000) });
}

function reason(r: ReturnType<typeof run>): string {
  return r.ok ? 'ok' : r.reason;
}

test('a good AEAD packet grants the requested port to the source', () => {
  const r = run(packet());
  assert.ok(r.ok);
  assert.equal(r.value.client, 'alice');
  assert.deepEqual(r.value.grant, { door: 'ssh-spa', family: 4, addr: SRC, services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 30 });
  assert.equal(r.value.append.length, 41);
});

test('a good Ed25519 packet grants; its own open list is the limit', () => {
  assert.equal(reason(run(packet({ key: BOB }))), 'ok');
  assert.equal(reason(run(packet({ key: BOB, access: ports(['443/tcp']) }))), 'access-denied');
  const all = run(packet({ key: BOB, access: [] }));
  assert.ok(all.ok);
  assert.deepEqual(all.value.grant.services, [{ kind: 'local', port: 22, proto: 'tcp' }]);
});

test('no access request: everything the client may open, forwarded services and port forwards included', () => {
  const router = (clientOpen?: string[]): SpaDoor => makeDoor({ open: ['22/tcp', '192.168.1.10:22/tcp', '2222/tcp=>[2001:db8::10]:22'], timeout: 30, window: 60 }, [
    { name: 'alice', ...(serverEntryOf(ALICE) as { key: string }), ...(clientOpen ? { open: clientOpen } : {}) },
  ]);
  const all = run(packet({ access: [] }), { door: router() });
  assert.ok(all.ok);
  assert.deepEqual(all.value.grant.services, [
    { kind: 'local', port: 22, proto: 'tcp' },
    { kind: 'forward', family: 4, addr: '192.168.1.10', port: 22, proto: 'tcp' },
    { kind: 'dnat', port: 2222, proto: 'tcp', family: 6, toAddr: '2001:db8::10', toPort: 22 },
  ]);
  const own = run(packet({ access: [] }), { door: router(['192.168.1.10:22/tcp']) });
  assert.ok(own.ok);
  assert.deepEqual(own.value.grant.services, [{ kind: 'forward', family: 4, addr: '192.168.1.10', port: 22, proto: 'tcp' }], 'the client entry limits it');
  const asked = run(packet({ access: ports(['22/tcp']) }), { door: router(['192.168.1.10:22/tcp']) });
  assert.equal(reason(asked), 'access-denied', 'this host\'s 22/tcp is not the forwarded 192.168.1.10:22/tcp');
});

test('every reason the verifier returns is in the exported list', () => {
  assert.equal(new Set(SPA_REJECT_REASONS).size, SPA_REJECT_REASONS.length);
  for (const r of ['too-short', 'too-long', 'unknown-client', 'bad-auth', 'bad-signature', 'stale', 'future', 'replayed']) assert.ok((SPA_REJECT_REASONS as readonly string[]).includes(r));
});

for (const [name, key] of [['aead', ALICE], ['ed25519', BOB]] as const) {
  test(`${name}: flipping any bit of any byte rejects the packet`, () => {
    const good = packet({ key });
    const d = door();
    const seen = new Set<string>();
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Uint8Array.from(good);
        bad[i] = (bad[i] as number) ^ bit;
        const r = run(bad, { door: d });
        assert.equal(r.ok, false, `byte ${i} bit ${bit}`);
        seen.add(reason(r));
      }
    }
    // Nonce and hint bytes break the hint; the rest break the tag.
    assert.deepEqual([...seen].sort(), ['bad-auth', 'unknown-client']);
  });
}

test('a key not in the door is unknown-client', () => {
  const other = generateClientKey('aead', () => new Uint8Array(32).fill(9));
  assert.equal(reason(run(packet({ key: other }))), 'unknown-client');
  assert.equal(reason(run(packet({ key: { type: 'ed25519', seed: new Uint8Array(32).fill(9) } }))), 'unknown-client');
});

test('an Ed25519 envelope sealed right but signed by another seed is bad-signature', () => {
  // Only the public key is needed to seal; forge with it and sign with a different seed.
  const forged = buildSpaPacketWithForeignSignature();
  assert.equal(reason(run(forged)), 'bad-signature');
});

function buildSpaPacketWithForeignSignature(): Uint8Array {
  // Internals on purpose: this is the attack an observer who knows the public key can mount.
  const env = require('../../../src/spa/envelope') as typeof import('../../../src/spa/envelope');
  const wire = require('../../../src/spa/wire') as typeof import('../../../src/spa/wire');
  const keys = env.deriveEnvelopeKeys('ed25519', env.ed25519PublicFromSeed((BOB as { seed: Uint8Array }).seed));
  const nonce = new Uint8Array(24).fill(0x33);
  const body = wire.encodeBody({ version: 1, tsMs: NOW, access: ports(['22/tcp']) });
  const head = Buffer.concat([nonce, env.computeHint(keys, nonce)]);
  const sig = env.ed25519Sign(new Uint8Array(32).fill(3), env.signedMessage(head, body));
  return env.sealEnvelope(keys, nonce, Buffer.concat([body, sig]));
}

test('length bounds come before anything else', () => {
  assert.equal(reason(run(new Uint8Array(0))), 'too-short');
  assert.equal(reason(run(new Uint8Array(58))), 'too-short');
  assert.equal(reason(run(new Uint8Array(59))), 'unknown-client');
  assert.equal(reason(run(new Uint8Array(512))), 'unknown-client');
  assert.equal(reason(run(new Uint8Array(513))), 'too-long');
});

test('an unknown version is rejected after authentication', () => {
  assert.equal(reason(run(packet({ version: 2 }))), 'bad-version');
  assert.equal(reason(run(packet({ key: BOB, version: 0 }))), 'bad-version');
});

test('the time window is inclusive at both edges and applies both ways', () => {
  const W = 60_000;
  const cases: [string, number, string][] = [
    ['exactly window old', NOW - W, 'ok'],
    ['1 ms too old', NOW - W - 1, 'stale'],
    ['exactly window ahead', NOW + W, 'ok'],
    ['1 ms too far ahead', NOW + W + 1, 'future'],
  ];
  for (const [label, ts, want] of cases) assert.equal(reason(run(packet({ nowMs: ts }))), want, label);
});

test('a replayed packet is rejected, also after the cache is saved and reloaded', () => {
  const replay = new ReplayCache(120_000, 1000);
  const p = packet();
  const first = run(p, { replay });
  assert.ok(first.ok);
  assert.equal(reason(run(p, { replay, src: '203.0.113.1' })), 'replayed');
  const reloaded = ReplayCache.load(first.value.append, NOW + 1000, 120_000, 1000);
  assert.equal(reloaded.lost, false);
  assert.equal(reason(run(p, { replay: reloaded.cache, nowMs: NOW + 1000 })), 'replayed');
  const compacted = ReplayCache.load(replay.compact(NOW + 2000), NOW + 2000, 120_000, 1000);
  assert.equal(reason(run(p, { replay: compacted.cache, nowMs: NOW + 2000 })), 'replayed');
});

test('after lost replay state, packets inside the lost window are refused until it passes', () => {
  const { cache, lost } = ReplayCache.load(Uint8Array.from([1, 2, 3]), NOW, 120_000, 1000);
  assert.equal(lost, true);
  assert.equal(reason(run(packet(), { replay: cache })), 'replay-state-lost');
  const later = NOW + 120_001;
  assert.equal(reason(run(packet({ nowMs: later }), { replay: cache, nowMs: later })), 'ok');
});

test('a door window longer than the cache keeps nonces is refused', () => {
  assert.equal(reason(run(packet(), { replay: new ReplayCache(30_000, 1000) })), 'replay-window');
});

test('a full replay cache refuses new packets (fail closed)', () => {
  const replay = new ReplayCache(120_000, 2);
  assert.equal(reason(run(packet(), { replay })), 'ok');
  assert.equal(reason(run(packet(), { replay })), 'ok');
  assert.equal(reason(run(packet(), { replay })), 'replay-cache-full');
});

test('access outside the door open list is denied', () => {
  assert.equal(reason(run(packet({ access: ports(['23/tcp']) }))), 'access-denied');
  assert.equal(reason(run(packet({ access: ports(['22/udp']) }))), 'access-denied');
  assert.equal(reason(run(packet({ access: ports(['22/tcp', '443/tcp']) }))), 'ok');
});

test('an authentic, fresh packet that is denied still spends its nonce (and says so with the record)', () => {
  const replay = new ReplayCache(120_000, 1000);
  for (const [p, why] of [[packet({ access: ports(['23/tcp']) }), 'access-denied'], [packet({ addr: '203.0.113.9' }), 'address-not-allowed']] as const) {
    const first = run(p, { replay });
    assert.ok(!first.ok);
    assert.equal(first.reason, why);
    assert.equal(first.append?.length, 41, 'the replay record to persist');
    // Even for a door widened later (allow_address, more ports), the same packet is now a replay.
    assert.equal(reason(run(p, { replay, door: door({ allow_address: true, open: ['22/tcp', '23/tcp', '443/tcp'] }) })), 'replayed');
  }
  const forged = run(packet({ key: { type: 'aead', key: new Uint8Array(32).fill(9) } }), { replay });
  assert.ok(!forged.ok);
  assert.equal(forged.append, undefined, 'an unauthentic packet spends nothing');
});

test('an explicit address needs allow_address, unless it is the source itself', () => {
  assert.equal(reason(run(packet({ addr: '203.0.113.9' }))), 'address-not-allowed');
  assert.equal(reason(run(packet({ addr: SRC }))), 'ok');
  const r = run(packet({ addr: '2001:db8::9' }), { door: door({ allow_address: true }) });
  assert.ok(r.ok);
  assert.deepEqual([r.value.grant.family, r.value.grant.addr], [6, '2001:db8::9']);
  assert.equal(reason(run(packet({ addr: '0.0.0.0' }), { door: door({ allow_address: true }) })), 'address-not-allowed');
});

test('a NAT prefix door grants the network around the address', () => {
  const d = door({ nat_prefix: { ipv4: 24, ipv6: 64 } });
  const v4 = run(packet(), { door: d });
  assert.ok(v4.ok);
  assert.equal(v4.value.grant.addr, '198.51.100.0/24');
  const v6 = run(packet(), { door: d, src: '2001:db8:1:2:3:4:5:6' });
  assert.ok(v6.ok);
  assert.equal(v6.value.grant.addr, '2001:db8:1:2::/64');
  const full = run(packet(), { door: door({ nat_prefix: { ipv4: 32 } }) });
  assert.ok(full.ok);
  assert.equal(full.value.grant.addr, SRC);
});

test('timeout: door timeout without max_timeout; capped request with it', () => {
  const t = (over: Partial<SpaPacketInput>, d: SpaDoor) => {
    const r = run(packet(over), { door: d });
    assert.ok(r.ok);
    return r.value.grant.timeoutSec;
  };
  assert.equal(t({ timeoutSec: 999 }, door()), 30);
  assert.equal(t({ timeoutSec: 999 }, door({ max_timeout: 300 })), 300);
  assert.equal(t({ timeoutSec: 45 }, door({ max_timeout: 300 })), 45);
  assert.equal(t({}, door({ max_timeout: 300 })), 30);
});

test('a name that is not the client is rejected; the right one passes', () => {
  assert.equal(reason(run(packet({ name: 'bob' }))), 'name-mismatch');
  assert.equal(reason(run(packet({ name: 'alice' }))), 'ok');
});

test('the door from list and a bad source are checked before crypto', () => {
  assert.equal(reason(run(packet(), { door: door({ from: ['10.0.0.0/8'] }) })), 'source-not-allowed');
  assert.equal(reason(run(packet(), { door: door({ from: ['198.51.100.0/24'] }) })), 'ok');
  assert.equal(reason(run(packet(), { src: 'not-an-address' })), 'bad-source');
});

test('seeded random garbage of every size never throws and is never accepted', () => {
  const next = seeded(0x5eed);
  const d = door();
  const replay = new ReplayCache(120_000, 1000);
  const good = packet();
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(next() * 600);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(next() * 256);
    // A third keep a real packet's nonce and hint: truncated, or extended by at least one byte.
    const p = i % 3 !== 0 ? b : len < good.length ? good.subarray(0, len) : Uint8Array.from([...good, ...b.subarray(0, 1 + (len % 40))]);
    const r = run(p, { door: d, replay });
    assert.equal(r.ok, false);
  }
});

test('garbage is rejected fast (rough rate, printed)', () => {
  const keyring = buildSpaKeyring(door());
  const d = keyring.door;
  const replay = new ReplayCache(120_000, 1000);
  const next = seeded(7);
  const pkts = Array.from({ length: 256 }, () => Uint8Array.from({ length: 80 }, () => Math.floor(next() * 256)));
  const n = 20_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) verifySpa(pkts[i & 255] as Uint8Array, { src: SRC, door: d, nowMs: NOW, replay, keyring });
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = Math.round(n / sec);
  console.log(`# garbage, 2 clients: ${rate} packets/s`);
  assert.ok(rate > 5_000, `only ${rate}/s`);
});
