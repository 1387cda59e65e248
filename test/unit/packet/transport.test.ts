import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, type DecodeOutcome } from '../../../src/packet';
import { TcpFlag, parseTcpFlags, tcpFlagsMatch, type Outcome, type TcpFlagsFilter } from '../../../src/core';
import { ipv4, ipv6, tcp, udp } from './frame-builder';

const decodeRaw = (ip: Uint8Array): DecodeOutcome => decodeFrame({ linkType: 12, data: ip, at: 0, ifname: 'x' });
const reason = (o: DecodeOutcome): string => (o.ok ? 'ok' : o.reason);
const v4 = (proto: number, l4: Uint8Array): Uint8Array => ipv4('198.51.100.2', '10.1.1.1', proto, l4);
const filter = (s: string): TcpFlagsFilter => (parseTcpFlags(s) as Outcome<TcpFlagsFilter> & { ok: true }).value;

test('the TCP flag byte is passed through unchanged, for every value', () => {
  for (let flags = 0; flags < 256; flags++) {
    const o = decodeRaw(v4(6, tcp(1000, 7000, flags)));
    assert.ok(o.ok);
    assert.equal(o.value.tcpFlags, flags);
  }
});

test('a SYN passes "syn,!ack"; a SYN-ACK and a bare ACK do not', () => {
  const f = filter('syn,!ack');
  const flagsOf = (b: number): number => {
    const o = decodeRaw(v4(6, tcp(1, 2, b)));
    return o.ok ? o.value.tcpFlags : -1;
  };
  assert.equal(tcpFlagsMatch(f, flagsOf(TcpFlag.syn)), true);
  assert.equal(tcpFlagsMatch(f, flagsOf(TcpFlag.syn | TcpFlag.ack)), false);
  assert.equal(tcpFlagsMatch(f, flagsOf(TcpFlag.ack)), false);
});

test('TCP options are skipped by the data offset; the payload follows them', () => {
  const o = decodeRaw(v4(6, tcp(1, 2, 0x18, { dataOffsetWords: 15, payload: [0xde, 0xad] })));
  assert.ok(o.ok);
  assert.deepEqual([...o.value.payload], [0xde, 0xad]);
});

const cases: Array<[string, Uint8Array, string]> = [
  ['TCP data offset 4 words', v4(6, tcp(1, 2, 2, { dataOffsetWords: 4 })), 'bad-tcp-header'],
  ['TCP data offset 0', v4(6, tcp(1, 2, 2, { dataOffsetWords: 0 })), 'bad-tcp-header'],
  ['TCP data offset past the packet', v4(6, tcp(1, 2, 2, { dataOffsetWords: 6 }).subarray(0, 20)), 'bad-tcp-header'],
  ['TCP header of 19 bytes', v4(6, tcp(1, 2, 2).subarray(0, 19)), 'truncated-transport'],
  ['UDP length 7', v4(17, udp(1, 2, [], 7)), 'bad-udp-length'],
  ['UDP length 0', v4(17, udp(1, 2, [], 0)), 'bad-udp-length'],
  ['UDP length past the IP payload', v4(17, udp(1, 2, [1, 2], 11)), 'bad-udp-length'],
  ['UDP header of 7 bytes', v4(17, udp(1, 2, []).subarray(0, 7)), 'truncated-transport'],
];
for (const [label, frame, want] of cases) {
  test(`${label} → ${want}`, () => assert.equal(reason(decodeRaw(frame)), want));
}

test('TCP header cut by the capture but complete on the wire is truncated, not malformed', () => {
  const ip = v4(6, tcp(1, 2, 2, { dataOffsetWords: 8 }));
  assert.equal(reason(decodeRaw(ip.subarray(0, 20 + 24))), 'truncated-transport');
});

test('UDP payload stops at the UDP length even when the IP payload is longer', () => {
  const o = decodeRaw(v4(17, udp(1, 2, [1, 2, 3, 4, 5], 10)));
  assert.ok(o.ok);
  assert.deepEqual([...o.value.payload], [1, 2]);
});

test('UDP payload stops at the captured length when the capture is cut', () => {
  const ip = v4(17, udp(1, 2, [1, 2, 3, 4, 5]));
  const o = decodeRaw(ip.subarray(0, ip.length - 3));
  assert.ok(o.ok);
  assert.deepEqual([...o.value.payload], [1, 2]);
});

test('the payload is a view into the frame, not a copy', () => {
  const ip = ipv6('fd00::1', 'fd00::2', 17, udp(1, 62201, [9, 8, 7]));
  const o = decodeFrame({ linkType: 101, data: ip, at: 0, ifname: 'x' });
  assert.ok(o.ok);
  assert.equal(o.value.payload.buffer, ip.buffer);
  assert.equal(o.value.payload.byteOffset, ip.length - 3);
  ip[ip.length - 1] = 0x55;
  assert.equal(o.value.payload[2], 0x55);
});
