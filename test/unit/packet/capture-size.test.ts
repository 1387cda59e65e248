/** Snap length from the config, and the capture ring sized in packets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapLengthFor, HEADER_BUDGET, SPA_MAX_PAYLOAD, FWKNOP_MAX_PAYLOAD } from '../../../src/packet';
import { ringFor, ringFrameBytes } from '../../../src/io/pcap-ring';
import { MAX_PACKET_LEN } from '../../../src/spa/wire';
import { FWKNOP_MAX_PACKET_LEN } from '../../../src/spa/fwknop/wire';

const knock = { kind: 'knock' as const };
const spa = (format?: string) => ({ kind: 'spa' as const, spa: { port: 62201, ...(format ? { format } : {}) } });

test('snap length: headers for knock doors, plus the largest SPA datagram any door accepts', () => {
  assert.equal(snapLengthFor({ doors: [] }), HEADER_BUDGET);
  assert.equal(snapLengthFor({ doors: [knock] }), HEADER_BUDGET);
  assert.equal(snapLengthFor({ doors: [knock, spa()] }), HEADER_BUDGET + SPA_MAX_PAYLOAD);
  assert.equal(snapLengthFor({ doors: [spa(), spa('fwknop'), knock] }), HEADER_BUDGET + FWKNOP_MAX_PAYLOAD);
  assert.equal(HEADER_BUDGET + SPA_MAX_PAYLOAD, 1184);
});

test('the capture keeps every byte of the largest datagram each SPA format accepts', () => {
  // A snap length below a format's maximum would cut its longest valid datagrams: they could never verify.
  assert.equal(SPA_MAX_PAYLOAD, MAX_PACKET_LEN);
  assert.equal(FWKNOP_MAX_PAYLOAD, FWKNOP_MAX_PACKET_LEN);
});

test('the ring is sized in packets: frames of the snap length, whole pages', () => {
  assert.equal(ringFrameBytes(160), 256);
  assert.equal(ringFrameBytes(672), 768);
  assert.equal(ringFrameBytes(1660), 1760);
  // Knock only: 16 frames a page, no waste.
  assert.deepEqual(ringFor(8192, 160), { bufferBytes: 8192 * 256, frames: 8192, memoryBytes: 2 << 20 });
  // A 672-byte snap length: 5 frames of 768 B a page; at least the packets asked for.
  const r = ringFor(8192, 672);
  assert.ok(r.frames >= 8192 && r.frames < 8192 + 5);
  assert.equal(r.bufferBytes, r.frames * 768, 'whole pages asked for: libpcap rounds down to whole blocks');
  assert.equal(r.memoryBytes, Math.ceil(8192 / 5) * 4096);
  // fwknop: 2 frames a page.
  assert.equal(ringFor(8192, 1660).memoryBytes, 16 << 20);
  // A 65,535-byte snap length (the `cap` package's, before koffi): one frame over 16 pages each.
  assert.equal(ringFor(256, 65535).memoryBytes, 256 * 17 * 4096);
  assert.throws(() => ringFor(0, 160), RangeError);
});
