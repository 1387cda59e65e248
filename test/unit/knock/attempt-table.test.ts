/** The engine's slot storage: bounded growth, lookup by source, slot reuse detection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttemptTable, NIL } from '../../../src/knock/attempt-table';

test('slots grow by doubling up to the capacity and never past it', () => {
  const t = new AttemptTable(3000);
  const slots = new Set<number>();
  for (let i = 0; i < 3000; i++) slots.add(t.add(`10.0.${i >> 8}.${i & 255}`, 4, 0, i, i + 10, 14000));
  assert.equal(slots.size, 3000);
  assert.equal(t.size, 3000);
  assert.ok(Math.max(...slots) < 3000, 'slot numbers stay below the capacity');
  assert.equal(t.door.length, 3000, 'arrays grew to the capacity exactly (1024, 2048, then 3000)');
  assert.throws(() => t.add('10.9.9.9', 4, 0, 0, 1, 1), /full/);
  // Every source is still found after the growths rebuilt the hash chains.
  for (let i = 0; i < 3000; i += 97) assert.deepEqual(t.slotsOf(`10.0.${i >> 8}.${i & 255}`, []).map((s) => t.startedAt[s]), [i]);
});

test('a source\'s slots come newest first, also after a growth', () => {
  const t = new AttemptTable(5000);
  const a = t.add('fd00::1', 6, 0, 1, 2, 2);
  for (let i = 0; i < 1500; i++) t.add(`10.1.${i >> 8}.${i & 255}`, 4, 0, 1, 2, 2);
  const b = t.add('fd00::1', 6, 1, 2, 3, 4);
  for (let i = 0; i < 1500; i++) t.add(`10.2.${i >> 8}.${i & 255}`, 4, 0, 1, 2, 2);
  const c = t.add('fd00::1', 6, 2, 3, 4, 6);
  assert.deepEqual(t.slotsOf('fd00::1', []), [c, b, a]);
  assert.equal(t.familyOf(a), 6);
  t.remove(b);
  assert.deepEqual(t.slotsOf('fd00::1', []), [c, a]);
  assert.deepEqual(t.slotsOf('fd00::2', []), []);
});

test('a freed slot is reused, and its generation changes so a saved reference sees the reuse', () => {
  const t = new AttemptTable(2);
  const a = t.add('10.0.0.1', 4, 0, 0, 1, 2);
  const gen = t.gen[a];
  t.prefix.set(a, [2]);
  t.remove(a);
  assert.equal(t.size, 0);
  assert.equal(t.prefix.has(a), false, 'per-slot extras go with the slot');
  const b = t.add('10.0.0.2', 4, 0, 0, 1, 2);
  assert.equal(b, a, 'the freed slot is taken first');
  assert.notEqual(t.gen[b], gen);
  assert.deepEqual(t.slotsOf('10.0.0.1', []), []);
  assert.equal(t.prev[b], NIL);
  assert.equal(t.next[b], NIL);
});

test('1,000,000 adds and removes through a 100,000-slot table allocate nothing past the capacity', () => {
  const t = new AttemptTable(100_000);
  const live: number[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    if (t.size === t.capacity) t.remove(live[i - 100_000] as number);
    live.push(t.add(`172.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 4, 0, i, i + 1, 14000));
  }
  assert.equal(t.size, 100_000);
  assert.equal(t.door.length, 100_000);
  assert.equal(t.src.length, 100_000);
  assert.deepEqual(t.slotsOf('172.15.66.63', []).map((s) => t.startedAt[s]), [999_999]);
  assert.deepEqual(t.slotsOf('172.0.0.0', []), [], 'the first source was removed long ago');
});

test('capacity must be a positive integer', () => {
  assert.throws(() => new AttemptTable(0), RangeError);
  assert.throws(() => new AttemptTable(1.5), RangeError);
});
