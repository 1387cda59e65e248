import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSpaPacket, buildSpaKeyring, generateClientKey, CostLimiter, ReplayCache, serverEntryOf, verifySpa, SPA_REJECT_REASONS,
  type SpaClientKey, type SpaIdentity, type SpaPacketInput,
} from '../../../src/spa';
import * as env from '../../../src/spa/envelope';
import { encodeBody } from '../../../src/spa/wire';
import type { SpaDoor } from '../../../src/config';
import { SERVER_A, SERVER_B, counterRandom, makeDoor, seeded, type ClientText, type DoorText } from './door-fixture';

const NOW = 1_767_225_600_000;
const ALICE: SpaClientKey = { type: 'aead', key: Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff) };
const BOB: SpaClientKey = { type: 'ed25519', seed: new Uint8Array(32).fill(2) };
const SRC = '198.51.100.7';
const CLIENTS: ClientText[] = [
  { name: 'alice', ...(serverEntryOf(ALICE) as { key: string }) },
  { name: 'bob', ...(serverEntryOf(BOB) as { public_key: string }), open: ['22/tcp'] },
];

function door(d: Partial<DoorText> = {}, clients = CLIENTS): SpaDoor {
  return makeDoor({ open: ['22/tcp', '443/tcp'], timeout: 30, window: 60, ...d }, clients);
}

const rnd = counterRandom(100);
function packet(over: Partial<SpaPacketInput> = {}): Uint8Array {
  return buildSpaPacket({ key: ALICE, server: SERVER_A.pub, door: 'ssh-spa', access: ['22/tcp'], nowMs: NOW, random: rnd, ...over });
}

interface RunOver { door?: SpaDoor; src?: string; nowMs?: number; replay?: ReplayCache; identity?: SpaIdentity; limiter?: CostLimiter }
function run(p: Uint8Array, over: RunOver = {}) {
  const d = over.door ?? door();
  return verifySpa(p, {
    src: over.src ?? SRC, door: d, nowMs: over.nowMs ?? NOW, replay: over.replay ?? new ReplayCache(120_000, 1000),
    keyring: buildSpaKeyring(d, over.identity ?? SERVER_A), ...(over.limiter ? { limiter: over.limiter } : {}),
  });
}

function reason(r: ReturnType<typeof run>): string {
  return r.ok ? 'ok' : r.reason;
}

/** What anyone holding the server identity can do: set a valid mac1 on any bytes. */
function remac(p: Uint8Array, server: Uint8Array = SERVER_A.pub, doorName = 'ssh-spa'): Uint8Array {
  const out = Uint8Array.from(p);
  out.set(env.computeMac1(env.mac1Key(server, doorName), out.subarray(0, out.length - 16)), out.length - 16);
  return out;
}

test('a good aead datagram grants the requested service to the source', () => {
  const r = run(packet());
  assert.ok(r.ok);
  assert.equal(r.value.client, 'alice');
  assert.deepEqual(r.value.grant, { door: 'ssh-spa', family: 4, addr: SRC, services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 30 });
  assert.equal(r.value.append.length, 41);
});

test('a good Ed25519 datagram grants; its own open list is the limit', () => {
  assert.equal(reason(run(packet({ key: BOB }))), 'ok');
  assert.equal(reason(run(packet({ key: BOB, access: ['443/tcp'] }))), 'access-denied');
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
  const asked = run(packet({ access: ['22/tcp'] }), { door: router(['192.168.1.10:22/tcp']) });
  assert.equal(reason(asked), 'access-denied', 'this host\'s 22/tcp is not the forwarded 192.168.1.10:22/tcp');
  // v2 requests name any open entry by its canonical text: a forwarded service and a port forward.
  const fwd = run(packet({ access: ['192.168.1.10:22/tcp', '2222/tcp=>[2001:db8::10]:22'] }), { door: router() });
  assert.ok(fwd.ok);
  assert.deepEqual(fwd.value.grant.services.map((x) => x.kind), ['forward', 'dnat']);
});

test('every reason the verifier returns is in the exported list', () => {
  assert.equal(new Set(SPA_REJECT_REASONS).size, SPA_REJECT_REASONS.length);
  for (const r of ['too-short', 'too-long', 'bad-mac', 'rate-limited', 'unknown-client', 'bad-auth', 'bad-signature', 'stale', 'future', 'replayed', 'address-required', 'address-mismatch']) {
    assert.ok((SPA_REJECT_REASONS as readonly string[]).includes(r), r);
  }
});

for (const [name, key] of [['aead', ALICE], ['ed25519', BOB]] as const) {
  test(`${name}: flipping any bit of any byte fails mac1; with mac1 recomputed, the envelope`, () => {
    const good = packet({ key });
    const d = door();
    for (let i = 0; i < good.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Uint8Array.from(good);
        bad[i] = (bad[i] as number) ^ bit;
        assert.equal(reason(run(bad, { door: d })), 'bad-mac', `byte ${i} bit ${bit}`);
        if (i < good.length - 16) assert.equal(reason(run(remac(bad), { door: d })), 'bad-auth', `remac'd byte ${i} bit ${bit}`);
      }
    }
  });
}

test('a datagram made for server A opens nothing on server B, even with the same config and clients', () => {
  const p = packet();
  assert.equal(reason(run(p, { identity: SERVER_B })), 'bad-mac');
  assert.equal(reason(run(remac(p, SERVER_B.pub), { identity: SERVER_B })), 'bad-auth', 'B cannot open what was sealed to A');
  assert.equal(reason(run(p, { identity: SERVER_A })), 'ok');
});

test('a datagram made for one door opens no other door of the same server', () => {
  const other = door({ name: 'other' });
  assert.equal(reason(run(packet(), { door: other })), 'bad-mac');
  assert.equal(reason(run(remac(packet(), SERVER_A.pub, 'other'), { door: other })), 'bad-auth');
});

test('a key not in the door is unknown-client (one lookup, no per-client work)', () => {
  assert.equal(reason(run(packet({ key: generateClientKey('aead', () => new Uint8Array(32).fill(9)) }))), 'unknown-client');
  assert.equal(reason(run(packet({ key: { type: 'ed25519', seed: new Uint8Array(32).fill(9) } }))), 'unknown-client');
});

test('1,000 clients: the last one is found and granted', () => {
  const keys = Array.from({ length: 1000 }, (_, i) => generateClientKey('aead', () => Uint8Array.from({ length: 32 }, (_, j) => (i * 7 + j * 13 + (i >> 8)) & 0xff)));
  const d = door({}, keys.map((k, i) => ({ name: `c${i}`, ...(serverEntryOf(k) as { key: string }) })));
  const r = run(packet({ key: keys[999] as SpaClientKey }), { door: d });
  assert.ok(r.ok);
  assert.equal(r.value.client, 'c999');
});

/** Seal a datagram to the server with `id` and an authenticator made with the wrong secret. */
function forged(id: Uint8Array, alen: number): Uint8Array {
  const r = new Uint8Array(32).fill(0x33);
  const eph = env.x25519PublicFromPrivate(r);
  const shared = env.x25519(env.x25519PrivateKeyObject(r), SERVER_A.pub) as Uint8Array;
  const body = encodeBody({ version: 2, tsMs: NOW, access: ['22/tcp'] });
  const auth = alen === 64 ? env.ed25519Sign(new Uint8Array(32).fill(3), env.transcript(SERVER_A.pub, 'ssh-spa', eph, id, body)) : new Uint8Array(32).fill(7);
  const sealed = env.seal(env.envelopeKey(shared, eph, SERVER_A.pub, 'ssh-spa'), eph, Buffer.concat([id, body, auth]));
  return remac(Buffer.concat([eph, sealed, new Uint8Array(16)]));
}

test('knowing the public material is not enough: forged authenticators are refused', () => {
  const bobId = env.clientId('ed25519', env.ed25519PublicFromSeed((BOB as { seed: Uint8Array }).seed));
  assert.equal(reason(run(forged(bobId, 64))), 'bad-signature', 'Bob\'s public key, another signer');
  const aliceId = env.clientId('aead', (ALICE as { key: Uint8Array }).key);
  assert.equal(reason(run(forged(aliceId, 32))), 'bad-auth', 'Alice\'s id, without her key');
});

test('a low-order ephemeral key is refused', () => {
  const p = Uint8Array.from(packet());
  p.fill(0, 0, 32);
  assert.equal(reason(run(remac(p))), 'bad-auth');
});

test('length bounds and steps come before anything else', () => {
  assert.equal(reason(run(new Uint8Array(0))), 'too-short');
  assert.equal(reason(run(new Uint8Array(127))), 'too-short');
  assert.equal(reason(run(new Uint8Array(128))), 'bad-mac');
  assert.equal(reason(run(new Uint8Array(129))), 'bad-length');
  assert.equal(reason(run(new Uint8Array(1024))), 'bad-mac');
  assert.equal(reason(run(new Uint8Array(1025))), 'too-long');
});

test('an unknown version is rejected after authentication', () => {
  assert.equal(reason(run(packet({ version: 1 }))), 'bad-version');
  assert.equal(reason(run(packet({ key: BOB, version: 3 }))), 'bad-version');
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

test('a datagram refused as from the future cannot be replayed once it becomes fresh (also after a restart)', () => {
  const replay = new ReplayCache(120_000, 1000);
  const p = packet({ nowMs: NOW + 300_000 });
  const first = run(p, { replay });
  assert.equal(reason(first), 'future');
  assert.equal(first.ok ? 0 : first.append?.length, 41, 'its nonce is spent and persisted');
  assert.equal(reason(run(p, { replay, nowMs: NOW + 300_000 })), 'replayed');
  const reloaded = ReplayCache.load(first.ok ? undefined : first.append, NOW + 300_000, 120_000, 1000);
  assert.equal(reason(run(p, { replay: reloaded.cache, nowMs: NOW + 300_000 })), 'replayed');
});

test('raising the window never re-opens a replay pruned under the old one (reload and restart)', () => {
  const replay = new ReplayCache(60_000, 1000);
  const p = packet();
  assert.equal(reason(run(p, { replay })), 'ok');
  const later = NOW + 90_000;
  replay.prune(later);
  assert.equal(replay.size, 0, 'pruned under the 60 s window');
  const wide = door({ window: 600 });
  replay.setWindow(600_000);
  assert.equal(reason(run(p, { replay, door: wide, nowMs: later })), 'stale', 'reload: refused, not accepted again');
  const restarted = ReplayCache.load(replay.compact(later), later, 600_000, 1000);
  assert.equal(reason(run(p, { replay: restarted.cache, door: wide, nowMs: later })), 'stale', 'restart: the horizon was persisted');
  assert.equal(reason(run(packet({ nowMs: later }), { replay: restarted.cache, door: wide, nowMs: later })), 'ok', 'fresh datagrams still pass');
});

test('a replayed datagram is rejected, also from another source and after the cache is saved and reloaded', () => {
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

test('after lost replay state, datagrams inside the lost window are refused until it passes', () => {
  const { cache, lost } = ReplayCache.load(Uint8Array.from([1, 2, 3]), NOW, 120_000, 1000);
  assert.equal(lost, true);
  assert.equal(reason(run(packet(), { replay: cache })), 'replay-state-lost');
  const later = NOW + 120_001;
  assert.equal(reason(run(packet({ nowMs: later }), { replay: cache, nowMs: later })), 'ok');
});

test('a door window longer than the cache keeps nonces is refused', () => {
  assert.equal(reason(run(packet(), { replay: new ReplayCache(30_000, 1000) })), 'replay-window');
});

test('a full replay cache refuses new datagrams (fail closed)', () => {
  const replay = new ReplayCache(120_000, 2);
  assert.equal(reason(run(packet(), { replay })), 'ok');
  assert.equal(reason(run(packet(), { replay })), 'ok');
  assert.equal(reason(run(packet(), { replay })), 'replay-cache-full');
});

test('access is asked for by canonical text; anything outside the client\'s open list is denied', () => {
  assert.equal(reason(run(packet({ access: ['23/tcp'] }))), 'access-denied');
  assert.equal(reason(run(packet({ access: ['22/udp'] }))), 'access-denied');
  assert.equal(reason(run(packet({ access: ['192.168.1.10:22/tcp'] }))), 'access-denied');
  const both = run(packet({ access: ['22/tcp', '443/tcp'] }));
  assert.ok(both.ok);
  assert.deepEqual(both.value.grant.services, [{ kind: 'local', port: 22, proto: 'tcp' }, { kind: 'local', port: 443, proto: 'tcp' }]);
});

test('an authentic datagram that is denied still spends its nonce (and says so with the record)', () => {
  const replay = new ReplayCache(120_000, 1000);
  for (const [p, why] of [[packet({ access: ['23/tcp'] }), 'access-denied'], [packet({ addr: '203.0.113.9' }), 'address-not-allowed']] as const) {
    const first = run(p, { replay });
    assert.ok(!first.ok);
    assert.equal(first.reason, why);
    assert.equal(first.append?.length, 41, 'the replay record to persist');
    assert.equal(reason(run(p, { replay, door: door({ allow_address: true, open: ['22/tcp', '23/tcp', '443/tcp'] }) })), 'replayed');
  }
  const unknown = run(packet({ key: { type: 'aead', key: new Uint8Array(32).fill(9) } }), { replay });
  assert.ok(!unknown.ok);
  assert.equal(unknown.append, undefined, 'an unauthentic datagram spends nothing');
});

test('an explicit address needs allow_address, unless it is the source; it must lie inside from', () => {
  assert.equal(reason(run(packet({ addr: '203.0.113.9' }))), 'address-not-allowed');
  assert.equal(reason(run(packet({ addr: SRC }))), 'ok');
  const r = run(packet({ addr: '2001:db8::9' }), { door: door({ allow_address: true }) });
  assert.ok(r.ok);
  assert.deepEqual([r.value.grant.family, r.value.grant.addr], [6, '2001:db8::9']);
  assert.equal(reason(run(packet({ addr: '0.0.0.0' }), { door: door({ allow_address: true }) })), 'address-not-allowed');
  const fenced = door({ allow_address: true, from: ['198.51.100.0/24'] });
  assert.equal(reason(run(packet({ addr: '198.51.100.99' }), { door: fenced })), 'ok');
  assert.equal(reason(run(packet({ addr: '203.0.113.9' }), { door: fenced })), 'address-not-allowed');
});

test('require_address: the datagram must carry its own source address', () => {
  const d = door({ require_address: true });
  assert.equal(reason(run(packet(), { door: d })), 'address-required');
  assert.equal(reason(run(packet({ addr: '198.51.100.8' }), { door: d })), 'address-mismatch');
  const good = packet({ addr: SRC });
  assert.equal(reason(run(good, { door: d, src: '203.0.113.1' })), 'address-mismatch', 'a copy re-sent from elsewhere');
  assert.equal(reason(run(good, { door: d })), 'ok');
});

test('a NAT prefix door grants the network around the address', () => {
  const d = door({ nat_prefix: { ipv4: 24, ipv6: 64 } });
  const v4 = run(packet(), { door: d });
  assert.ok(v4.ok);
  assert.equal(v4.value.grant.addr, '198.51.100.0/24');
  const v6 = run(packet(), { door: d, src: '2001:db8:1:2:3:4:5:6' });
  assert.ok(v6.ok);
  assert.equal(v6.value.grant.addr, '2001:db8:1:2::/64');
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
});

test('the door from list and a bad source are checked before crypto', () => {
  assert.equal(reason(run(packet(), { door: door({ from: ['10.0.0.0/8'] }) })), 'source-not-allowed');
  assert.equal(reason(run(packet(), { door: door({ from: ['198.51.100.0/24'] }) })), 'ok');
  assert.equal(reason(run(packet(), { src: 'not-an-address' })), 'bad-source');
});

test('expensive steps are budgeted per source; garbage costs no budget', () => {
  const limiter = new CostLimiter({ perSourceRate: 1, perSourceBurst: 3, globalRate: 100, globalBurst: 100, maxSources: 16 });
  const d = door();
  const forgery = remac(new Uint8Array(128).fill(0x42));
  const seen = Array.from({ length: 5 }, () => reason(run(forgery, { door: d, limiter })));
  assert.deepEqual(seen, ['bad-auth', 'bad-auth', 'bad-auth', 'rate-limited', 'rate-limited']);
  assert.equal(reason(run(new Uint8Array(128), { door: d, limiter })), 'bad-mac', 'garbage is refused before the budget');
  assert.equal(reason(run(forgery, { door: d, limiter, src: '198.51.100.8' })), 'bad-auth', 'another source has its own budget');
  assert.equal(reason(run(forgery, { door: d, limiter, nowMs: NOW + 1000 })), 'bad-auth', 'one token back after a second');
  assert.equal(reason(run(packet(), { door: d, limiter, src: '198.51.100.9' })), 'ok');
});

test('seeded random garbage of every size never throws and is never accepted', () => {
  const next = seeded(0x5eed);
  const d = door();
  const replay = new ReplayCache(120_000, 1000);
  const good = packet();
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(next() * 1100);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(next() * 256);
    // A third are mutations of a real datagram with a valid mac1: truncated or extended.
    const p = i % 3 !== 0 ? b : remac(len < good.length ? good.subarray(0, Math.max(len, 17)) : Uint8Array.from([...good, ...b.subarray(0, 32 * (1 + (len % 4)))]));
    const r = run(p, { door: d, replay });
    assert.equal(r.ok, false);
  }
});
