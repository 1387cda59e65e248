import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpaPacket, MAX_PACKET_LEN } from '../../../src/spa';

const KEY = { type: 'aead' as const, key: new Uint8Array(32).fill(4) };
const T = 1_767_225_600_000;

test('the same inputs give the same bytes; the default nonce is random', () => {
  const fixed = () => new Uint8Array(24).fill(8);
  assert.deepEqual(buildSpaPacket({ key: KEY, nowMs: T, random: fixed }), buildSpaPacket({ key: KEY, nowMs: T, random: fixed }));
  const a = buildSpaPacket({ key: KEY, nowMs: T });
  const b = buildSpaPacket({ key: KEY, nowMs: T });
  assert.notDeepEqual(a.subarray(0, 24), b.subarray(0, 24));
  assert.notDeepEqual(a.subarray(24, 32), b.subarray(24, 32), 'the hint changes with the nonce');
});

test('bad requests throw RangeError with the bad value', () => {
  assert.throws(() => buildSpaPacket({ key: KEY, nowMs: T, addr: 'gw.example.org' }), /gw\.example\.org/);
  assert.throws(() => buildSpaPacket({ key: KEY, nowMs: T, random: () => new Uint8Array(16) }), /16 bytes/);
  assert.throws(() => buildSpaPacket({ key: KEY, nowMs: T, timeoutSec: 1.5 }), RangeError);
});

test('the largest request fits the size bound in both modes', () => {
  const access = Array.from({ length: 16 }, (_, i) => ({ port: 1000 + i, proto: 'udp' as const }));
  for (const key of [KEY, { type: 'ed25519' as const, seed: new Uint8Array(32).fill(5) }]) {
    const p = buildSpaPacket({ key, nowMs: T, access, addr: '2001:db8::1', timeoutSec: 60, name: 'x'.repeat(32) });
    assert.ok(p.length <= MAX_PACKET_LEN, String(p.length));
  }
});
