import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayCache, RECORD_LEN } from '../../../src/spa';

const W = 60_000;
const T = 1_767_225_600_000;
const nonce = (n: number): Uint8Array => new Uint8Array(24).fill(n);

function reason(r: { ok: boolean; reason?: string }): string {
  return r.ok ? 'ok' : (r.reason as string);
}

test('check does not record; record makes the nonce a replay', () => {
  const c = new ReplayCache(W, 10);
  assert.equal(reason(c.check(nonce(1), T, T)), 'ok');
  assert.equal(reason(c.check(nonce(1), T, T)), 'ok');
  const rec = c.record(nonce(1), T);
  assert.equal(rec.length, RECORD_LEN);
  assert.equal(reason(c.check(nonce(1), T, T)), 'replayed');
  assert.equal(reason(c.check(nonce(2), T, T)), 'ok');
});

test('nonces are kept until their timestamp is a window old, then pruned', () => {
  const c = new ReplayCache(W, 10);
  c.record(nonce(1), T);
  c.record(nonce(2), T + 10_000);
  assert.equal(c.prune(T + W), 0);
  assert.equal(c.prune(T + W + 1), 1);
  assert.equal(c.size, 1);
  assert.equal(reason(c.check(nonce(2), T + 10_000, T + W + 1)), 'replayed');
});

test('when full of live nonces it refuses; expired ones make room', () => {
  const c = new ReplayCache(W, 2);
  c.record(nonce(1), T);
  c.record(nonce(2), T + 5000);
  assert.equal(reason(c.check(nonce(3), T, T)), 'replay-cache-full');
  assert.equal(reason(c.check(nonce(3), T + W + 1, T + W + 1)), 'ok');
  assert.equal(c.size, 1);
});

test('appended records reload to the same state', () => {
  const c = new ReplayCache(W, 10);
  const file = Buffer.concat([c.record(nonce(1), T), c.record(nonce(2), T + 1)]);
  const { cache, lost, detail } = ReplayCache.load(file, T + 100, W, 10);
  assert.equal(lost, false, detail);
  assert.equal(cache.size, 2);
  assert.equal(reason(cache.check(nonce(1), T, T + 100)), 'replayed');
  assert.equal(reason(cache.check(nonce(2), T + 1, T + 100)), 'replayed');
  assert.equal(reason(cache.check(nonce(3), T, T + 100)), 'ok');
});

test('a missing file is a clean first start', () => {
  const r = ReplayCache.load(undefined, T, W, 10);
  assert.equal(r.lost, false);
  assert.equal(r.cache.blackoutTsMs, -1);
  assert.equal(reason(r.cache.check(nonce(1), T - W, T)), 'ok');
});

test('compaction keeps only live nonces and reloads equal', () => {
  const c = new ReplayCache(W, 10);
  c.record(nonce(1), T);
  c.record(nonce(2), T + W);
  const bytes = c.compact(T + W + 1);
  assert.equal(bytes.length, 2 * RECORD_LEN, 'the horizon and one live nonce');
  const r = ReplayCache.load(bytes, T + W + 1, W, 10);
  assert.equal(r.lost, false);
  assert.equal(reason(r.cache.check(nonce(2), T + W, T + W + 1)), 'replayed');
  assert.equal(reason(r.cache.check(nonce(1), T, T + W + 1)), 'stale', 'pruned: below the horizon, never accepted again');
});

test('the horizon: a raised window never brings back what was pruned, in memory or after a restart', () => {
  const c = new ReplayCache(W, 10);
  c.record(nonce(1), T);
  c.prune(T + W + 1);
  assert.equal(c.size, 0);
  assert.equal(c.horizonTsMs, T);
  c.setWindow(10 * W);
  assert.equal(c.windowMs, 10 * W);
  assert.equal(reason(c.check(nonce(1), T, T + W + 1)), 'stale');
  assert.equal(reason(c.check(nonce(3), T + 1, T + W + 1)), 'ok', 'just above the horizon');
  const r = ReplayCache.load(c.compact(T + W + 1), T + W + 2, 10 * W, 10);
  assert.equal(r.lost, false);
  assert.equal(r.cache.horizonTsMs, T);
  assert.equal(reason(r.cache.check(nonce(1), T, T + W + 2)), 'stale');
  // A smaller window moves the horizon up at once.
  const s = ReplayCache.load(undefined, T, W, 10).cache;
  s.prune(T);
  assert.equal(s.horizonTsMs, T - W - 1);
});

const lostCases: [string, (good: Uint8Array) => Uint8Array][] = [
  ['torn last record', (g) => g.subarray(0, g.length - 5)],
  ['flipped bit in a nonce', (g) => flip(g, 3)],
  ['flipped bit in a timestamp', (g) => flip(g, RECORD_LEN + 30)],
  ['flipped bit in a check', (g) => flip(g, 40)],
  ['unknown record kind', (g) => flip(g, 0)],
  ['garbage', () => new Uint8Array(RECORD_LEN * 2).fill(0xee)],
];

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[i] = (c[i] as number) ^ 0x04;
  return c;
}

for (const [label, damage] of lostCases) {
  test(`lost state (${label}): fail closed for one window, keep what verifies`, () => {
    const c = new ReplayCache(W, 10);
    const good = Buffer.concat([c.record(nonce(1), T - 1000), c.record(nonce(2), T - 500)]);
    const now = T;
    const { cache, lost, detail } = ReplayCache.load(damage(good), now, W, 10);
    assert.equal(lost, true);
    assert.match(detail, /torn|corrupt/);
    assert.equal(cache.blackoutTsMs, now + W);
    assert.equal(reason(cache.check(nonce(9), now, now)), 'replay-state-lost');
    assert.equal(reason(cache.check(nonce(9), now + W, now + W)), 'replay-state-lost');
    assert.equal(reason(cache.check(nonce(9), now + W + 1, now + W + 1)), 'ok');
  });
}

test('a torn record does not lose the records before it', () => {
  const c = new ReplayCache(W, 10);
  const good = Buffer.concat([c.record(nonce(1), T + 5 * W), c.record(nonce(2), T)]);
  const { cache } = ReplayCache.load(good.subarray(0, RECORD_LEN + 7), T, W, 10);
  assert.equal(cache.size, 1);
  assert.equal(reason(cache.check(nonce(1), T + 5 * W, T + 4 * W)), 'replayed');
});

test('the blackout survives compaction and a restart', () => {
  const { cache } = ReplayCache.load(Uint8Array.from([1]), T, W, 10);
  const again = ReplayCache.load(cache.compact(T + 1000), T + 2000, W, 10);
  assert.equal(again.lost, false);
  assert.equal(again.cache.blackoutTsMs, T + W);
  assert.equal(reason(again.cache.check(nonce(5), T + 3000, T + 3000)), 'replay-state-lost');
  // Once no packet can carry a refused timestamp, the blackout record is dropped (the horizon stays).
  assert.equal(again.cache.compact(T + 2 * W + 1).length, RECORD_LEN);
});

test('more live nonces than max_replay on load is lost state', () => {
  const c = new ReplayCache(W, 10);
  const file = Buffer.concat([1, 2, 3].map((n) => c.record(nonce(n), T)));
  const r = ReplayCache.load(file, T, W, 2);
  assert.equal(r.lost, true);
  assert.match(r.detail, /max_replay/);
  assert.equal(reason(r.cache.check(nonce(7), T, T)), 'replay-state-lost');
});

test('an unreadable file: afterLoss fails closed', () => {
  const c = ReplayCache.afterLoss(T, W, 10);
  assert.equal(reason(c.check(nonce(1), T + W, T + 1)), 'replay-state-lost');
  assert.equal(reason(c.check(nonce(1), T + W + 1, T + W + 1)), 'ok');
});

test('needsCompaction once appends clearly outnumber live nonces', () => {
  const c = new ReplayCache(W, 5000);
  for (let i = 0; i < 1024; i++) c.record(Uint8Array.from({ length: 24 }, (_, j) => (j < 2 ? (i >> (8 * j)) & 0xff : 0)), T);
  assert.equal(c.needsCompaction(), false);
  c.record(nonce(0xff), T);
  c.prune(T + W + 1);
  assert.equal(c.needsCompaction(), true);
  c.compact(T + W + 1);
  assert.equal(c.needsCompaction(), false);
});
