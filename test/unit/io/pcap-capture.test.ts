/** The adapter with a fake packet source: no root, no libpcap. The real thing: test/integration/pcap-capture.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcapCapture } from '../../../src/io/pcap-capture';
import type { PacketSource } from '../../../src/io/pcap-source';
import { IfNames, MAX_AGE_MS, unknownIfname } from '../../../src/io/ifnames';
import { CaptureError, type Frame } from '../../../src/core';

const SLL2 = 276;

/** An SLL2 frame header for `ifindex`, then `rest`. */
function sll2(ifindex: number, rest: number[] = []): number[] {
  return [0x08, 0x00, 0, 0, (ifindex >>> 24) & 255, (ifindex >>> 16) & 255, (ifindex >>> 8) & 255, ifindex & 255, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, ...rest];
}

class FakeSource implements PacketSource {
  static all: FakeSource[] = [];
  readonly linkType = SLL2;
  queue: Array<[number[], number]> = [];
  ready: (() => void) | undefined;
  closed = false;
  droppedByKernel = 0;
  constructor(
    readonly opts: { snapLen: number; bufferBytes: number; filter: string },
  ) {
    FakeSource.all.push(this);
  }
  setFilter(filter: string): void {
    if (/bad/.test(filter)) throw new CaptureError(`bad capture filter "${filter}": syntax error`);
    (this.opts as { filter: string }).filter = filter;
  }
  read(max: number, onPacket: (d: Uint8Array, at: number) => void): number {
    const batch = this.queue.splice(0, max);
    for (const [bytes, at] of batch) onPacket(Uint8Array.from(bytes), at);
    return batch.length;
  }
  waitReadable(ready: () => void): void {
    assert.equal(this.ready, undefined, 'one wait at a time');
    this.ready = ready;
  }
  /** The kernel queued packets: the pending wait returns (on the event loop, as a koffi async call does). */
  deliver(...frames: Array<[number[], number]>): void {
    this.queue.push(...frames);
    this.fire();
  }
  wake(): void {
    this.fire();
  }
  private fire(): void {
    const r = this.ready;
    this.ready = undefined;
    if (r) setImmediate(r);
  }
  stats(): { received: number; dropped: number } {
    return { received: 0, dropped: this.droppedByKernel };
  }
  close(): void {
    assert.equal(this.ready, undefined, 'closed while a wait was pending');
    this.closed = true;
  }
}

const NAMES: Record<number, string> = { 1: 'lo', 2: 'eth0', 3: 'wg0' };

function make(interfaces: string[], names: Record<number, string | undefined> = NAMES, ringPackets?: number) {
  FakeSource.all = [];
  return new PcapCapture({
    interfaces,
    ...(ringPackets ? { ringPackets } : {}),
    openSource: (o) => {
      if (/refuse/.test(o.filter)) throw new CaptureError(`bad capture filter "${o.filter}": syntax error`);
      return new FakeSource(o);
    },
    indexToName: (i) => names[i],
    now: () => 0,
  });
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('frames carry SLL2, the real interface from the frame, the kernel timestamp and exactly the captured bytes', async () => {
  const cap = make(['any']);
  const got: Array<Omit<Frame, 'data'> & { bytes: number[] }> = [];
  await cap.start('udp', (f) => got.push({ linkType: f.linkType, ifname: f.ifname, at: f.at, bytes: [...f.data] }), 672);
  const src = FakeSource.all[0] as FakeSource;
  src.deliver([sll2(2, [9]), 1000], [sll2(3), 1001], [sll2(77), 1002]);
  await tick();
  assert.deepEqual(got.map((g) => [g.linkType, g.ifname, g.at, g.bytes.length]), [
    [SLL2, 'eth0', 1000, 21],
    [SLL2, 'wg0', 1001, 20],
    [SLL2, unknownIfname(77), 1002, 20],
  ]);
  assert.equal(got[0]?.bytes[20], 9);
  await cap.close();
});

test('the snap length and the ring in packets reach libpcap; one handle on any whatever the interfaces', async () => {
  const cap = make(['eth0', 'wg0'], NAMES, 1000);
  await cap.start('udp dst port 9', () => undefined, 672);
  assert.equal(FakeSource.all.length, 1);
  const o = FakeSource.all[0]?.opts;
  assert.deepEqual([o?.snapLen, o?.filter], [672, 'udp dst port 9']);
  // 672 + 96 bytes of frame header area, 16-aligned: 768 bytes per frame, 1000 frames.
  assert.equal(o?.bufferBytes, 768 * 1000);
  await cap.close();
});

test('named capture interfaces filter on the frame label; a name that does not exist yet matches once it appears', async () => {
  const names: Record<number, string | undefined> = { 2: 'eth0' };
  const cap = make(['wg0', 'eth0'], names);
  const got: string[] = [];
  await cap.start('udp', (f) => got.push(f.ifname));
  const src = FakeSource.all[0] as FakeSource;
  src.deliver([sll2(2), 1], [sll2(9), 2]);
  await tick();
  assert.deepEqual(got, ['eth0'], 'index 9 has no name yet: not wg0');
  names[10] = 'wg0'; // wg0 created later: a new index
  src.deliver([sll2(10), 3], [sll2(1), 4]);
  await tick();
  assert.deepEqual(got, ['eth0', 'wg0']);
  await cap.close();
});

test('the interface-name cache: a recreated interface (new index) and a rename are both named right', () => {
  let now = 0;
  const names: Record<number, string> = { 5: 'veth0' };
  let lookups = 0;
  const n = new IfNames((i) => (lookups++, names[i]), () => now);
  assert.equal(n.nameOf(5), 'veth0');
  assert.equal(n.nameOf(5), 'veth0');
  assert.equal(lookups, 1, 'cached');
  delete names[5];
  names[6] = 'veth0';
  assert.equal(n.nameOf(6), 'veth0', 'a new index is looked up at once');
  names[6] = 'renamed';
  assert.equal(n.nameOf(6), 'veth0', 'within MAX_AGE_MS the cached name is used');
  now += MAX_AGE_MS;
  assert.equal(n.nameOf(6), 'renamed');
  assert.equal(n.nameOf(5), unknownIfname(5), 'a deleted index, after its cache entry aged');
});

test('reading is batched and bounded: a full ring is read over several turns of the event loop', async () => {
  const cap = make(['any']);
  let n = 0;
  await cap.start('udp', () => n++);
  const src = FakeSource.all[0] as FakeSource;
  const frames: Array<[number[], number]> = [];
  for (let i = 0; i < 5000; i++) frames.push([sll2(2), i]);
  src.deliver(...frames);
  await tick();
  assert.equal(n, 256 * 16, 'one wake-up reads at most 16 batches of 256');
  // The source is armed again; a real poll would return at once with packets still waiting.
  src.wake();
  await tick();
  assert.equal(n, 5000);
  await cap.close();
});

test('setFilter with the same snap length swaps the filter on the open handle; a refused filter keeps the old', async () => {
  const cap = make(['any']);
  await cap.start('udp dst port 1', () => undefined, 160);
  const src = FakeSource.all[0] as FakeSource;
  await cap.setFilter('udp dst port 2', 160);
  assert.deepEqual([FakeSource.all.length, src.opts.filter], [1, 'udp dst port 2']);
  await assert.rejects(cap.setFilter('bad'), (e: unknown) => e instanceof CaptureError && /syntax error/.test(e.message));
  assert.equal(src.opts.filter, 'udp dst port 2');
  await cap.close();
  assert.equal(src.closed, true);
});

test('a new snap length opens a new handle first, reads the old ring to its end, then closes it', async () => {
  const cap = make(['any']);
  const got: number[] = [];
  await cap.start('udp', (f) => got.push(f.at), 160);
  const old = FakeSource.all[0] as FakeSource;
  old.queue.push([sll2(2), 1]);
  old.droppedByKernel = 3;
  await cap.setFilter('udp', 1660);
  const fresh = FakeSource.all[1] as FakeSource;
  assert.equal(fresh.opts.snapLen, 1660);
  await tick();
  assert.deepEqual([old.closed, fresh.closed], [true, false]);
  assert.deepEqual(got, [1], 'the packet waiting in the old ring was delivered');
  fresh.droppedByKernel = 2;
  assert.deepEqual(cap.counters(), { dropped: 5 }, 'drops of the retired ring are kept');
  fresh.deliver([sll2(2), 2]);
  await tick();
  assert.deepEqual(got, [1, 2]);
  await cap.close();
  assert.equal(fresh.closed, true);
});

test('close wakes the pending wait and no frame is delivered after it resolves', async () => {
  const cap = make(['any']);
  let n = 0;
  await cap.start('udp', () => n++);
  const src = FakeSource.all[0] as FakeSource;
  src.queue.push([sll2(2), 1]);
  await cap.close();
  assert.equal(src.closed, true);
  await tick();
  assert.equal(n, 0);
  await assert.rejects(cap.setFilter('udp'), /not started/);
});

test('a filter libpcap refuses at start is a CaptureError with its message', async () => {
  const cap = make(['any']);
  await assert.rejects(cap.start('refuse', () => undefined), (e: unknown) => e instanceof CaptureError && e.code === 'ERR_CAPTURE' && /syntax error/.test(e.message));
  await cap.start('udp', () => undefined);
  await cap.close();
});

test('skipInterfaces: the kernel filter drops those interfaces in front of the caller\'s filter, kept across filter and snap-length changes', async () => {
  const cap = make(['any']);
  await cap.start('udp dst port 1', () => undefined, 200);
  const first = FakeSource.all[0] as FakeSource;
  assert.equal(first.opts.filter, 'udp dst port 1');
  await cap.skipInterfaces([3, 5]);
  assert.equal(first.opts.filter, 'not (ifindex 3 or ifindex 5) and (udp dst port 1)');
  await cap.setFilter('udp dst port 2');
  assert.equal(first.opts.filter, 'not (ifindex 3 or ifindex 5) and (udp dst port 2)');
  await cap.setFilter('udp dst port 2', 400);
  const second = FakeSource.all[1] as FakeSource;
  assert.equal(second.opts.filter, 'not (ifindex 3 or ifindex 5) and (udp dst port 2)', 'a new handle gets the skip too');
  await cap.skipInterfaces([]);
  assert.equal(second.opts.filter, 'udp dst port 2');
  await cap.close();
});

test('skipInterfaces changes nothing where frames carry no interface index (not cooked v2)', async () => {
  const cap = make(['any']);
  await cap.start('udp dst port 1', () => undefined, 200);
  const src = FakeSource.all[0] as FakeSource;
  (src as { linkType: number }).linkType = 113;
  await cap.skipInterfaces([3]);
  assert.equal(src.opts.filter, 'udp dst port 1');
  await cap.close();
});
