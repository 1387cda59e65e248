import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, type DecodeOutcome } from '../../../src/packet';
import { ipv4, tcp, udp } from './frame-builder';

const decodeRaw = (ip: Uint8Array): DecodeOutcome => decodeFrame({ linkType: 12, data: ip, at: 0, ifname: 'x' });
const reason = (o: DecodeOutcome): string => (o.ok ? 'ok' : o.reason);
const SRC = '203.0.113.9';
const DST = '10.0.0.1';

test('IPv4 options are skipped by IHL, from 1 to the maximum 10 option words', () => {
  for (const words of [1, 3, 10]) {
    const o = decodeRaw(ipv4(SRC, DST, 6, tcp(5555, 7000, 0x12), { optionWords: words }));
    assert.ok(o.ok, `option words ${words}`);
    assert.deepEqual([o.value.src, o.value.dst, o.value.sport, o.value.dport, o.value.tcpFlags], [SRC, DST, 5555, 7000, 0x12]);
  }
});

const cases: Array<[string, Uint8Array, string]> = [
  ['IHL below 5', ipv4(SRC, DST, 17, udp(1, 2, []), { ihlWords: 4 }), 'bad-ip-header'],
  ['total length below IHL', ipv4(SRC, DST, 17, udp(1, 2, []), { totalLength: 19 }), 'bad-ip-header'],
  ['IHL past the captured bytes', ipv4(SRC, DST, 17, new Uint8Array(0), { ihlWords: 15, totalLength: 60 }), 'truncated-ip'],
  ['total length too short for the UDP header', ipv4(SRC, DST, 17, udp(1, 2, []), { totalLength: 24 }), 'truncated-transport'],
  ['more fragments', ipv4(SRC, DST, 17, udp(1, 2, []), { fragWord: 0x2000 }), 'ip-fragment'],
  ['non-zero fragment offset', ipv4(SRC, DST, 17, udp(1, 2, []), { fragWord: 0x0001 }), 'ip-fragment'],
  ['last fragment, DF clear', ipv4(SRC, DST, 17, udp(1, 2, []), { fragWord: 0x00b9 }), 'ip-fragment'],
  ['DF only is not a fragment', ipv4(SRC, DST, 17, udp(1, 2, []), { fragWord: 0x4000 }), 'ok'],
  ['no flags at all is not a fragment', ipv4(SRC, DST, 17, udp(1, 2, []), { fragWord: 0 }), 'ok'],
  ['ICMP', ipv4(SRC, DST, 1, new Uint8Array(8)), 'not-tcp-udp'],
  ['ESP', ipv4(SRC, DST, 50, new Uint8Array(8)), 'not-tcp-udp'],
];
for (const [label, frame, want] of cases) {
  test(`IPv4: ${label} → ${want}`, () => assert.equal(reason(decodeRaw(frame)), want));
}

test('IPv4 with total length beyond the capture (snap length) still decodes the header', () => {
  const ip = ipv4(SRC, DST, 17, udp(1, 9000, [1, 2, 3, 4]));
  const cut = ip.subarray(0, ip.length - 2);
  const o = decodeRaw(cut);
  assert.ok(o.ok);
  assert.deepEqual([...o.value.payload], [1, 2]);
});
