/** A packet captured twice (bridge and port, VLAN and parent) is handled once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateFilter, LinkType } from '../../../src/packet';
import type { Frame } from '../../../src/core';

/** IPv4 + UDP to 62201 from 10.0.0.S with a payload byte P, behind an Ethernet header or raw. */
function ip(s: number, p: number): Uint8Array {
  const b = new Uint8Array(20 + 8 + 1);
  b[0] = 0x45;
  b[3] = b.length;
  b[8] = 64;
  b[9] = 17;
  b.set([10, 0, 0, s], 12);
  b.set([10, 0, 0, 1], 16);
  b[22] = 0xf2;
  b[23] = 0xf9;
  b[25] = 9;
  b[28] = p;
  return b;
}
function eth(l3: Uint8Array): Uint8Array {
  const b = new Uint8Array(14 + l3.length);
  b[12] = 0x08;
  b.set(l3, 14);
  return b;
}
const raw = (data: Uint8Array, at: number): Frame => ({ linkType: LinkType.raw, data, at, ifname: 'any' });
const ether = (data: Uint8Array, at: number): Frame => ({ linkType: LinkType.ethernet, data, at, ifname: 'any' });

test('the second capture of one IP packet within a few ms is a duplicate, whatever its link header', () => {
  const f = new DuplicateFilter();
  assert.equal(f.isDuplicate(raw(ip(2, 1), 1000)), false);
  assert.equal(f.isDuplicate(ether(eth(ip(2, 1)), 1001)), true, 'same IP packet seen on a second interface');
  assert.equal(f.isDuplicate(raw(ip(2, 2), 1001)), false, 'one payload byte differs');
  assert.equal(f.isDuplicate(raw(ip(3, 1), 1001)), false, 'another source');
});

test('a repeat after the window is a new packet (a retransmit, a replay): the daemon judges it', () => {
  const f = new DuplicateFilter();
  assert.equal(f.isDuplicate(raw(ip(2, 1), 1000)), false);
  assert.equal(f.isDuplicate(raw(ip(2, 1), 1006)), false);
  assert.equal(f.isDuplicate(raw(ip(2, 1), 1007)), true, 'but right after the last sighting it is a copy again');
});

test('only the last 16 frames are remembered; the capture buffer being reused does not matter', () => {
  const f = new DuplicateFilter();
  const buf = ip(2, 0);
  assert.equal(f.isDuplicate(raw(buf, 0)), false);
  for (let i = 1; i <= 16; i++) assert.equal(f.isDuplicate(raw(ip(2, i), 0)), false);
  assert.equal(f.isDuplicate(raw(ip(2, 0), 0)), false, 'pushed out by 16 others');
  buf[28] = 99; // the capture library reuses its buffer for the next frame
  assert.equal(f.isDuplicate(raw(ip(2, 0), 0)), true, 'the filter kept its own copy');
});

test('frames without a usable link header are never duplicates (the decoder counts them)', () => {
  const f = new DuplicateFilter();
  assert.equal(f.isDuplicate(ether(new Uint8Array(5), 0)), false);
  assert.equal(f.isDuplicate(ether(new Uint8Array(5), 0)), false);
  assert.equal(f.isDuplicate(ether(new Uint8Array(14), 0)), false);
  assert.equal(f.isDuplicate(ether(new Uint8Array(14), 0)), false);
});
