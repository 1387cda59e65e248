import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, MAX_EXT_HEADERS, type DecodeOutcome } from '../../../src/packet';
import { ipv6, tcp, udp, type Ext } from './frame-builder';

const decodeRaw = (ip: Uint8Array): DecodeOutcome => decodeFrame({ linkType: 101, data: ip, at: 0, ifname: 'x' });
const reason = (o: DecodeOutcome): string => (o.ok ? 'ok' : o.reason);
const SRC = '2001:db8:0:0:1:0:0:1';
const DST = '2001:0db8:0000:0000:0000:0000:0000:00ab';

test('IPv6 addresses come out in RFC 5952 canonical text', () => {
  const o = decodeRaw(ipv6(SRC, DST, 17, udp(1, 9000, [7])));
  assert.ok(o.ok);
  assert.deepEqual([o.value.family, o.value.src, o.value.dst], [6, '2001:db8::1:0:0:1', '2001:db8::ab']);
});

test('hop-by-hop, routing and destination options are walked to the transport header', () => {
  const exts: Ext[] = [{ type: 0 }, { type: 60, lenUnits: 2 }, { type: 43, lenUnits: 1 }, { type: 60 }];
  const o = decodeRaw(ipv6(SRC, DST, 6, tcp(40000, 8000, 0x02, { payload: [5, 6] }), exts));
  assert.ok(o.ok);
  assert.deepEqual([o.value.proto, o.value.sport, o.value.dport, o.value.tcpFlags, [...o.value.payload]], ['tcp', 40000, 8000, 0x02, [5, 6]]);
});

test(`up to ${MAX_EXT_HEADERS} extension headers are walked; one more is refused`, () => {
  const many = (n: number): Ext[] => Array.from({ length: n }, () => ({ type: 60 }));
  assert.equal(reason(decodeRaw(ipv6(SRC, DST, 17, udp(1, 2, []), many(MAX_EXT_HEADERS)))), 'ok');
  assert.equal(reason(decodeRaw(ipv6(SRC, DST, 17, udp(1, 2, []), many(MAX_EXT_HEADERS + 1)))), 'too-many-ext-headers');
});

const cases: Array<[string, Uint8Array, string]> = [
  ['fragment header first', ipv6(SRC, DST, 17, udp(1, 2, []), [{ type: 44 }]), 'ip-fragment'],
  ['fragment header after hop-by-hop', ipv6(SRC, DST, 17, udp(1, 2, []), [{ type: 0 }, { type: 44 }]), 'ip-fragment'],
  ['no next header', ipv6(SRC, DST, 59, new Uint8Array(0)), 'not-tcp-udp'],
  ['ICMPv6', ipv6(SRC, DST, 58, new Uint8Array(8)), 'not-tcp-udp'],
  ['extension header longer than the payload', ipv6(SRC, DST, 17, udp(1, 2, []), [{ type: 60, lenUnits: 200 }], 16), 'bad-ip-header'],
  ['extension header longer than the capture', ipv6(SRC, DST, 17, udp(1, 2, []), [{ type: 60, lenUnits: 200 }]).subarray(0, 80), 'truncated-transport'],
  ['payload length 0 (jumbogram)', ipv6(SRC, DST, 17, udp(1, 2, []), [], 0), 'truncated-transport'],
  ['payload length too short for UDP', ipv6(SRC, DST, 17, udp(1, 2, []), [], 6), 'truncated-transport'],
  ['header cut at 39 bytes', ipv6(SRC, DST, 17, udp(1, 2, [])).subarray(0, 39), 'truncated-ip'],
  ['extension header cut by the capture', ipv6(SRC, DST, 17, udp(1, 2, []), [{ type: 60, lenUnits: 1 }]).subarray(0, 41), 'truncated-ip'],
];
for (const [label, frame, want] of cases) {
  test(`IPv6: ${label} → ${want}`, () => assert.equal(reason(decodeRaw(frame)), want));
}
