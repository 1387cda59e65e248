/** Hostile bytes: truncations, random garbage and mutated real frames never throw. */
import { seededU32 } from '../../support/prng';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, DECODE_REASONS, type DecodeOutcome } from '../../../src/packet';
import { parseAddr } from '../../../src/core';
import { ethernet, fixtureNames, ipv4, ipv6, loadFixture, tcp, udp, type Fixture } from './frame-builder';

/** Whole numbers from the shared seeded generator: a failure names a seed that reproduces it. */
const prng = seededU32;

const LINK_TYPES = [0, 1, 12, 14, 101, 113, 276, 9999];

/** Either a known reason, or an event whose every field is in range and whose payload lies inside the frame. */
function assertWellFormed(o: DecodeOutcome, data: Uint8Array, label: string): void {
  if (!o.ok) {
    assert.ok(DECODE_REASONS.includes(o.reason), `${label}: unknown reason ${o.reason}`);
    return;
  }
  const e = o.value;
  assert.ok(e.family === 4 || e.family === 6, label);
  for (const a of [e.src, e.dst]) assert.equal(parseAddr(a)?.text, a, `${label}: ${a} not canonical`);
  assert.equal(parseAddr(e.src)?.family, e.family, label);
  assert.ok(e.proto === 'tcp' || e.proto === 'udp', label);
  for (const p of [e.sport, e.dport]) assert.ok(Number.isInteger(p) && p >= 0 && p <= 65535, label);
  assert.ok(e.tcpFlags >= 0 && e.tcpFlags <= 255 && (e.proto === 'tcp' || e.tcpFlags === 0), label);
  assert.equal(e.payload.buffer, data.buffer, `${label}: payload must be a view`);
  assert.ok(e.payload.byteOffset >= data.byteOffset, label);
  assert.ok(e.payload.byteOffset + e.payload.length <= data.byteOffset + data.length, `${label}: payload past the frame`);
}

function run(linkType: number, data: Uint8Array, label: string): DecodeOutcome {
  let o: DecodeOutcome | undefined;
  assert.doesNotThrow(() => {
    o = decodeFrame({ linkType, data, at: 0, ifname: 'fuzz' });
  }, label);
  assertWellFormed(o as DecodeOutcome, data, label);
  return o as DecodeOutcome;
}

const synthetic: Fixture[] = [
  { name: 'qinq-v4-tcp', linkType: 1, data: ethernet(0x0800, ipv4('192.0.2.1', '192.0.2.2', 6, tcp(1, 2, 2), { optionWords: 2 }), [0x88a8, 0x8100]) },
  { name: 'raw-v6-ext-udp', linkType: 101, data: ipv6('fd00::1', 'fd00::2', 17, udp(1, 2, [1, 2, 3]), [{ type: 0 }, { type: 43, lenUnits: 1 }]) },
];
const all = [...fixtureNames().map(loadFixture), ...synthetic];

test('fixtures decode whole, and every truncation of them is refused without throwing', () => {
  assert.ok(all.length >= 14, 'fixtures missing');
  for (const fx of all) {
    assert.ok(run(fx.linkType, fx.data, fx.name).ok, `${fx.name} whole`);
    for (let n = 0; n < fx.data.length; n++) {
      const cut = fx.data.slice(0, n);
      const o = run(fx.linkType, cut, `${fx.name} cut at ${n}`);
      // A cut frame may still decode when only TCP/UDP payload went missing; never with a cut header.
      if (o.ok) assert.ok(cut.length >= fx.data.length - (decodePayloadLen(fx) ?? 0), `${fx.name} cut at ${n} decoded`);
    }
  }
});

function decodePayloadLen(fx: Fixture): number | undefined {
  const o = decodeFrame({ linkType: fx.linkType, data: fx.data, at: 0, ifname: '' });
  return o.ok ? fx.data.length - o.value.payload.byteOffset + fx.data.byteOffset : undefined;
}

test('seeded random garbage under every link type never throws (5000 frames)', () => {
  const rnd = prng(0x5eed);
  let decoded = 0;
  for (let i = 0; i < 5000; i++) {
    const data = new Uint8Array(rnd() % 200);
    for (let j = 0; j < data.length; j++) data[j] = rnd() & 0xff;
    const lt = LINK_TYPES[rnd() % LINK_TYPES.length] as number;
    if (run(lt, data, `garbage #${i} dlt ${lt}`).ok) decoded++;
  }
  assert.ok(decoded < 5000);
});

test('real frames with random bytes flipped never throw (20000 mutations)', () => {
  const rnd = prng(0xc0ffee);
  const reasons = new Set<string>();
  for (let i = 0; i < 20000; i++) {
    const fx = all[rnd() % all.length] as Fixture;
    const data = Uint8Array.from(fx.data);
    const flips = 1 + (rnd() % 4);
    for (let k = 0; k < flips; k++) data[rnd() % data.length] = rnd() & 0xff;
    const len = rnd() % 4 === 0 ? rnd() % (data.length + 1) : data.length;
    const o = run(fx.linkType, data.subarray(0, len), `mutation #${i} of ${fx.name}`);
    if (!o.ok) reasons.add(o.reason);
  }
  // Mutations reach deep into the decoder: most reasons must have been produced.
  assert.ok(reasons.size >= 8, `only reached ${[...reasons].join(', ')}`);
});
