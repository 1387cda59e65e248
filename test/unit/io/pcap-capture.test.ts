/** The adapter with a fake `cap`: no root, no libpcap. The real thing: test/integration/pcap-capture.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PcapCapture, dltFromCapName, readIfindex, type CapHandle } from '../../../src/io/pcap-capture';
import { CaptureError, type Frame } from '../../../src/core';

class FakeCap extends EventEmitter implements CapHandle {
  static all: FakeCap[] = [];
  device = '';
  filter = '';
  buffer: Buffer | undefined;
  closed = false;
  constructor(private readonly refuse?: RegExp) {
    super();
    FakeCap.all.push(this);
  }
  open(device: string, filter: string, _bufSize: number, buffer: Buffer): string {
    if (this.refuse?.test(filter)) throw new Error(`can't parse filter expression: syntax error`);
    Object.assign(this, { device, filter, buffer });
    return 'LINKTYPE_LINUX_SLL';
  }
  close(): boolean {
    this.closed = true;
    return true;
  }
  /** What cap does on a packet: copy into the caller's buffer, emit the length. */
  deliver(bytes: number[]): void {
    this.buffer?.set(bytes);
    this.emit('packet', bytes.length, false);
  }
}

function make(interfaces: string[], refuse?: RegExp) {
  FakeCap.all = [];
  return new PcapCapture({ interfaces, now: () => 1234, ifindexOf: (n) => ({ eth0: 2, eth1: 3 })[n] ?? 0, newCap: () => new FakeCap(refuse) });
}

test("cap's link-type names map to DLT numbers", () => {
  assert.deepEqual(
    ['ETHERNET', 'LINKTYPE_LINUX_SLL', 'RAW', 'NULL', 'Unknown linktype 276', 'nonsense'].map(dltFromCapName),
    [1, 113, 12, 0, 276, -1],
  );
});

test('"any" is opened as is; with "any" listed, named interfaces would duplicate it and are dropped', async () => {
  const cap = make(['eth0', 'any']);
  await cap.start('inbound and (udp dst port 9)', () => undefined);
  assert.deepEqual(FakeCap.all.map((c) => [c.device, c.filter]), [['any', 'inbound and (udp dst port 9)']]);
  await cap.close();
});

test('named interfaces are the any device plus an ifindex term (never the device itself: promiscuous)', async () => {
  const cap = make(['eth0', 'eth1']);
  await cap.start('inbound and (udp dst port 9)', () => undefined);
  assert.deepEqual(FakeCap.all.map((c) => c.device), ['any', 'any']);
  assert.match(FakeCap.all[0]?.filter ?? '', /^\(ifindex 2 and \(inbound and \(udp dst port 9\)\)\) or \(ifindex 1 and inbound and udp dst port \d+ and dst host 127\.0\.0\.1\)$/);
  assert.match(FakeCap.all[1]?.filter ?? '', /^\(ifindex 3 and /);
  await cap.close();
});

test('frames carry the link type, the interface, the injected time and exactly the captured bytes', async () => {
  const cap = make(['eth1']);
  const got: Array<Omit<Frame, 'data'> & { bytes: number[] }> = [];
  await cap.start('udp', (f) => got.push({ linkType: f.linkType, ifname: f.ifname, at: f.at, bytes: [...f.data] }));
  FakeCap.all[0]?.deliver([1, 2, 3]);
  FakeCap.all[0]?.deliver([9]);
  assert.deepEqual(got, [
    { linkType: 113, ifname: 'eth1', at: 1234, bytes: [1, 2, 3] },
    { linkType: 113, ifname: 'eth1', at: 1234, bytes: [9] },
  ]);
  await cap.close();
  FakeCap.all[0]?.deliver([7]);
  assert.equal(got.length, 2, 'no frame after close');
  assert.equal(FakeCap.all[0]?.closed, true);
});

test('setFilter opens the new handles first and closes the old ones; a refused filter keeps the old', async () => {
  const cap = make(['any'], /bad/);
  await cap.start('udp dst port 1', () => undefined);
  const first = FakeCap.all[0] as FakeCap;
  await cap.setFilter('udp dst port 2');
  const second = FakeCap.all[1] as FakeCap;
  assert.deepEqual([first.closed, second.closed, second.filter], [true, false, 'udp dst port 2']);
  await assert.rejects(cap.setFilter('bad'), (e: unknown) => e instanceof CaptureError && /syntax error/.test(e.message));
  assert.equal(second.closed, false, 'the running handle survives a refused filter');
  await cap.close();
  assert.equal(second.closed, true);
});

test('a refused filter at start is a CaptureError with libpcap message, and the half-open handle is not closed', async () => {
  const cap = make(['any'], /bad/);
  await assert.rejects(cap.start('bad', () => undefined), (e: unknown) => e instanceof CaptureError && e.code === 'ERR_CAPTURE' && /any: can't parse/.test(e.message));
  // cap crashes the process when a handle whose open() threw is closed or collected.
  assert.equal(FakeCap.all[0]?.closed, false);
  await cap.start('udp', () => undefined);
  await cap.close();
});

test('interface names that could leave /sys/class/net are refused', () => {
  for (const bad of ['../x', 'a/b', '.', '..', '', 'x'.repeat(16), 'has space']) assert.throws(() => readIfindex(bad), CaptureError, bad);
  assert.equal(readIfindex('lo') > 0, true);
  assert.throws(() => readIfindex('nosuchif0'), /no such interface: nosuchif0/);
});
