import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpaPacket, MAX_PACKET_LEN, type SpaPacketInput } from '../../../src/spa';
import { SERVER_A } from './door-fixture';

const KEY = { type: 'aead' as const, key: new Uint8Array(32).fill(4) };
const T = 1_767_225_600_000;
const base: SpaPacketInput = { key: KEY, server: SERVER_A.pub, door: 'ssh-spa', nowMs: T };

test('the same inputs give the same bytes; by default E is fresh and nothing repeats', () => {
  const fixed = () => new Uint8Array(32).fill(8);
  assert.deepEqual(buildSpaPacket({ ...base, random: fixed }), buildSpaPacket({ ...base, random: fixed }));
  const a = buildSpaPacket(base);
  const b = buildSpaPacket(base);
  assert.equal(a.length, b.length);
  for (let i = 0; i + 8 <= a.length; i += 8) assert.notDeepEqual(a.subarray(i, i + 8), b.subarray(i, i + 8), `bytes ${i}..${i + 8} differ`);
});

test('bit 255 of E is random, not always 0', () => {
  const tops = new Set<number>();
  for (let i = 0; i < 32; i++) tops.add((buildSpaPacket(base)[31] as number) >> 7);
  assert.deepEqual([...tops].sort(), [0, 1]);
});

test('bad requests throw RangeError with the bad value', () => {
  assert.throws(() => buildSpaPacket({ ...base, addr: 'gw.example.org' }), /gw\.example\.org/);
  assert.throws(() => buildSpaPacket({ ...base, random: () => new Uint8Array(16) }), /16 bytes/);
  assert.throws(() => buildSpaPacket({ ...base, timeoutSec: 1.5 }), RangeError);
  assert.throws(() => buildSpaPacket({ ...base, server: new Uint8Array(31) }), /32 bytes/);
  assert.throws(() => buildSpaPacket({ ...base, server: new Uint8Array(32) }), /not a usable X25519/);
});

test('the largest request fits the size bound in both modes; sizes are 64 + a multiple of 32', () => {
  const access = Array.from({ length: 16 }, (_, i) => `${10000 + i}/tcp=>[2001:db8::${i + 1}]:22`);
  for (const key of [KEY, { type: 'ed25519' as const, seed: new Uint8Array(32).fill(5) }]) {
    const p = buildSpaPacket({ ...base, key, access, addr: '2001:db8::1', timeoutSec: 60 });
    assert.ok(p.length <= MAX_PACKET_LEN, String(p.length));
    assert.equal((p.length - 64) % 32, 0);
  }
  assert.equal(buildSpaPacket(base).length, 128, 'the smallest aead datagram');
});
