/** The engine's table is bounded: eviction order, counters, and a flood of spoofed sources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KnockEvent } from '../../../src/core';
import { KnockEngine } from '../../../src/knock';
import { door, isLocal, knock, show } from './knock-fixtures';

const SSH = door('ssh', ['7000', '8000', '9000:udp']);
const WEB = door('web', ['7100', '8100']);

test('table full: the oldest partial attempt of any door is evicted first, and counted', () => {
  const e = new KnockEngine([SSH, WEB], { maxSources: 3, isLocal });
  e.onKnock(knock('10.0.0.1', '7100'), 0);
  e.onKnock(knock('10.0.0.2', '7000'), 1);
  e.onKnock(knock('10.0.0.3', '7100'), 2);
  assert.equal(e.size, 3);
  assert.deepEqual(e.onKnock(knock('10.0.0.4', '7000'), 3).map(show), ['reset web 10.0.0.1 evicted at 1', 'stage ssh 10.0.0.4 1/3']);
  assert.deepEqual(e.onKnock(knock('10.0.0.5', '7000'), 4).map(show), ['reset ssh 10.0.0.2 evicted at 1', 'stage ssh 10.0.0.5 1/3']);
  assert.equal(e.size, 3);
  assert.equal(e.counters().evicted, 2);
  // The survivors still work.
  assert.deepEqual(e.onKnock(knock('10.0.0.3', '8100'), 5).map(show), ['success web 10.0.0.3 grant 7100:tcp,8100:tcp']);
});

test('a restarted attempt is new: it moves to the back of the eviction order', () => {
  const e = new KnockEngine([SSH], { maxSources: 2, isLocal });
  e.onKnock(knock('10.0.0.1', '7000'), 0);
  e.onKnock(knock('10.0.0.2', '7000'), 1);
  e.onKnock(knock('10.0.0.1', '8000'), 2);
  assert.deepEqual(e.onKnock(knock('10.0.0.1', '7000'), 3).map(show), ['reset ssh 10.0.0.1 restarted at 2', 'stage ssh 10.0.0.1 1/3']);
  assert.deepEqual(e.onKnock(knock('10.0.0.3', '7000'), 4).map(show), ['reset ssh 10.0.0.2 evicted at 1', 'stage ssh 10.0.0.3 1/3']);
});

test('eviction of a source\'s other attempt during its own knock leaves the table consistent', () => {
  const e = new KnockEngine([SSH, WEB], { maxSources: 1, isLocal });
  e.onKnock(knock('10.0.0.1', '7100'), 0);
  assert.deepEqual(e.onKnock(knock('10.0.0.1', '7000'), 1).map(show), [
    'reset web 10.0.0.1 wrong-knock at 1', 'stage ssh 10.0.0.1 1/3',
  ]);
  e.onKnock(knock('10.0.0.2', '7000'), 2);
  assert.equal(e.size, 1);
  assert.deepEqual(e.expire(100_000).map(show), ['reset ssh 10.0.0.2 timeout at 1']);
  assert.equal(e.size, 0);
  assert.equal(e.nextDeadline(), undefined);
});

function spoofed(i: number): KnockEvent {
  return knock(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '7000', { at: i });
}

test('1,000,000 spoofed first knocks through maxSources 100,000 keep the table at its bound', () => {
  const e = new KnockEngine([SSH], { maxSources: 100_000, isLocal });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  // The table's typed arrays live outside the V8 heap: count both.
  const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = used();
  for (let i = 0; i < 1_000_000; i++) e.onKnock(spoofed(i), i);
  assert.equal(e.size, 100_000);
  assert.equal(e.counters().evicted, 900_000);
  assert.equal(e.nextDeadline(), 900_000 + 10_000);
  if (gc) {
    gc();
    const perAttempt = (used() - before) / e.size;
    // About 100 bytes (typed-array slots plus the kept source string); one object per attempt was ~230.
    assert.ok(perAttempt < 160, `about ${perAttempt.toFixed(0)} bytes per partial attempt`);
  }
  assert.equal(e.expire(2_000_000).length, 100_000);
  assert.equal(e.size, 0);
});
