/** One door's full set: its grants are refused, logged and counted; every other grant of the same batch lands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Daemon, Firewall } from '../../../src/daemon';
import { buildSetLayout } from '../../../src/nft';
import { loadConfigText } from '../../../src/config';
import { createLogger } from '../../../src/log';
import { applyIsolated } from '../../../src/daemon/isolate';
import { NftError } from '../../../src/core';
import { FakeCapture, FakeClock, MemoryStore, RecordingHooks, RecordingNft, ipv4Packet } from './fakes';

const HOST = '192.0.2.1';
const CFG = loadConfigText(`table: kt
doors:
  flooded: { sequence: ["7000:udp"], open: ["22/tcp"], set_size: 8 }
  other: { sequence: ["7100:udp"], open: ["443/tcp"] }
`).config;

test('a full door set fails only that door\'s grants: the batch is split, the rest lands, set-full is logged and counted', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  const capture = new FakeCapture();
  const nft = new RecordingNft();
  nft.fullSets.add('in4_flooded');
  const timers: number[] = [];
  const d = new Daemon({
    capture, nft, clock: new FakeClock(), log: createLogger({ level: 'info', destination: sink }), isLocal: (a) => a === HOST,
    store: new MemoryStore(), hooks: new RecordingHooks(), files: { readFile: async () => new Uint8Array() },
    setTimer: (fn, ms) => (timers.push(ms), setImmediate(fn)),
  });
  await d.start(CFG);
  // Interleaved in one tick: one batch of ten grants, three of them into the full set.
  for (let i = 1; i <= 10; i++) capture.deliver(ipv4Packet(`198.51.100.${i}`, HOST, 'udp', i % 3 === 0 ? 7000 : 7100));
  await d.flush();
  const granted = lines.filter((l) => l.event === 'grant').map((l) => [l.door, l.src]);
  assert.equal(granted.length, 7, 'every grant of the other door landed');
  assert.ok(granted.every(([door]) => door === 'other'));
  const full = lines.filter((l) => l.event === 'set-full');
  assert.deepEqual(full.map((l) => l.src), ['198.51.100.3', '198.51.100.6', '198.51.100.9']);
  assert.ok(full.every((l) => l.door === 'flooded' && /Too many open files/.test(String(l.reason))));
  assert.deepEqual(d.stats.setFull, { flooded: 3 });
  assert.equal(d.stats.grants, 7);
  assert.equal(d.stats.nftFailures, 0, 'a full set is not an nft failure');
  assert.deepEqual(timers, [], 'and is not retried with backoff');
  assert.equal(lines.filter((l) => l.event === 'grant-failed').length, 0);
  const applied = nft.applied.flatMap((b) => b.nftables).filter((c) => 'add' in c).length;
  assert.equal(applied, 7 * 2, 'each landed grant applied once (add + add with timeout)');
  await d.stop();
});

test('applyIsolated: k bad items among n are found by halving; batch-wide errors are thrown for the retry', async () => {
  const calls: number[][] = [];
  const bad = new Set([3, 11]);
  const apply = async (part: readonly number[]): Promise<void> => {
    calls.push([...part]);
    if (part.some((x) => bad.has(x))) throw new NftError('add grant', 1, 'Error: Could not process rule: Too many open files in system');
  };
  const items = Array.from({ length: 16 }, (_, i) => i);
  const failed = await applyIsolated(items, apply);
  assert.deepEqual(failed.map((f) => f.item), [3, 11]);
  assert.ok(calls.length <= 1 + 2 * 2 * Math.log2(16), `${calls.length} calls`);
  const landed = new Set(calls.filter((c) => !c.some((x) => bad.has(x))).flat());
  assert.equal(landed.size, 14, 'every good item landed exactly in a successful call');
  await assert.rejects(applyIsolated([1, 2], async () => { throw new NftError('add grant', 1, 'Error: Could not process rule: Device or resource busy'); }), /Device or resource busy/);
  await assert.rejects(applyIsolated([1, 2], async () => { throw new NftError('add grant', 1, 'x', { code: 'ERR_NO_TABLE' }); }), /x/);
  assert.deepEqual(await applyIsolated([], apply), []);
});

test('a revoke is not failed by a full set it has nothing in: every other set still loses the element', async () => {
  const nft = new RecordingNft();
  nft.fullSets.add('in4_flooded');
  const fw = new Firewall(nft, 'kt', buildSetLayout(CFG));
  const failed = await fw.revokeEach([{ door: 'close', family: 4, addr: '198.51.100.7', services: [{ kind: 'local', port: 22, proto: 'tcp' }] }]);
  assert.deepEqual(failed, []);
  const deleted = nft.applied.flatMap((b) => b.nftables).filter((c) => 'delete' in c).map((c) => (c as { delete: { element: { name: string } } }).delete.element.name);
  assert.deepEqual(deleted.sort(), ['allowed4', 'allowednet4', 'in4_other'].sort(), 'removed from every other set of its kind');
  await assert.doesNotReject(fw.revoke([{ door: 'manual', family: 4, addr: '198.51.100.7', services: [{ kind: 'local', port: 22, proto: 'tcp' }] }]));
});
