import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, DECODE_REASONS, type DecodeOutcome } from '../../../src/packet';
import type { KnockEvent } from '../../../src/core';
import { cat, ethernet, ipv4, loadFixture, sll, sll2, udp } from './frame-builder';

const AT = 1_700_000_000_123;

function decode(linkType: number, data: Uint8Array): DecodeOutcome {
  return decodeFrame({ linkType, data, at: AT, ifname: 'eth9' });
}

function event(o: DecodeOutcome): KnockEvent {
  if (!o.ok) assert.fail(`expected an event, got reject ${o.reason}`);
  return o.value;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** What tcpdump printed for the captures under test/fixtures/frames. */
const CAPTURED: Record<string, Partial<KnockEvent> & { payloadText: string }> = {
  'v4-tcp-syn': { family: 4, src: '10.77.0.1', dst: '10.77.0.2', proto: 'tcp', sport: 43328, dport: 7000, tcpFlags: 0x02, payloadText: '' },
  'v4-udp': { family: 4, src: '10.77.0.1', dst: '10.77.0.2', proto: 'udp', sport: 50450, dport: 9000, tcpFlags: 0, payloadText: 'knock-payload' },
  'v6-tcp-syn': { family: 6, src: 'fd77::1', dst: 'fd77::2', proto: 'tcp', sport: 53602, dport: 7000, tcpFlags: 0x02, payloadText: '' },
  'v6-udp': { family: 6, src: 'fd77::1', dst: 'fd77::2', proto: 'udp', sport: 40866, dport: 9000, tcpFlags: 0, payloadText: 'knock-payload' },
};

for (const link of ['ethernet', 'sll', 'sll2']) {
  for (const [what, want] of Object.entries(CAPTURED)) {
    test(`captured ${link} ${what} decodes to what tcpdump saw`, () => {
      const fx = loadFixture(`${link}-${what}`);
      const ev = event(decode(fx.linkType, fx.data));
      const { payloadText, ...fields } = want;
      for (const [k, v] of Object.entries(fields)) assert.equal(ev[k as keyof KnockEvent], v, k);
      assert.equal(text(ev.payload), payloadText);
      assert.equal(ev.at, AT);
      assert.equal(ev.ifname, 'eth9');
    });
  }
}

test('raw IP under each raw link type number (12, 14, 101) decodes the same packet', () => {
  const fx = loadFixture('ethernet-v4-udp');
  const ip = fx.data.subarray(14);
  for (const dlt of [12, 14, 101]) {
    const ev = event(decode(dlt, ip));
    assert.equal(ev.src, '10.77.0.1', `dlt ${dlt}`);
    assert.equal(text(ev.payload), 'knock-payload');
  }
  const v6 = loadFixture('ethernet-v6-tcp-syn').data.subarray(14);
  assert.equal(event(decode(101, v6)).dst, 'fd77::2');
});

test('802.1Q, 802.1ad QinQ and a third tag are skipped; a fourth tag is refused', () => {
  const ip = ipv4('192.0.2.1', '198.51.100.7', 17, udp(1234, 9000, [1, 2, 3]));
  for (const tags of [[0x8100], [0x88a8, 0x8100], [0x9100, 0x8100], [0x88a8, 0x8100, 0x8100]]) {
    const ev = event(decode(1, ethernet(0x0800, ip, tags)));
    assert.deepEqual([ev.src, ev.dst, ev.dport, [...ev.payload]], ['192.0.2.1', '198.51.100.7', 9000, [1, 2, 3]], `tags ${tags}`);
  }
  assert.deepEqual(decode(1, ethernet(0x0800, ip, [0x8100, 0x8100, 0x8100, 0x8100])), { ok: false, reason: 'too-many-vlan-tags' });
});

test('a VLAN tag after a Linux cooked header is skipped too', () => {
  const ip = ipv4('192.0.2.1', '198.51.100.7', 17, udp(1234, 9000, [9]));
  const frame = cat([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0], [0x81, 0x00, 0x00, 0x0a, 0x08, 0x00], ip);
  assert.equal(event(decode(113, frame)).dport, 9000);
});

test('packets this host sent (cooked packet type 4) are refused', () => {
  const ip = ipv4('192.0.2.1', '198.51.100.7', 17, udp(1234, 9000, []));
  assert.equal(decode(113, sll(0x0800, ip, 4)).ok, false);
  assert.deepEqual(decode(113, sll(0x0800, ip, 4)), { ok: false, reason: 'outgoing' });
  assert.deepEqual(decode(276, sll2(0x0800, ip, 4)), { ok: false, reason: 'outgoing' });
  assert.equal(decode(276, sll2(0x0800, ip, 0)).ok, true);
});

test('non-IP ethertypes, unknown link types and mismatched versions are refused', () => {
  const ip = ipv4('192.0.2.1', '198.51.100.7', 17, udp(1, 2, []));
  assert.deepEqual(decode(1, ethernet(0x0806, ip)), { ok: false, reason: 'not-ip' });
  assert.deepEqual(decode(0, ip), { ok: false, reason: 'unsupported-link' });
  assert.deepEqual(decode(127, ip), { ok: false, reason: 'unsupported-link' });
  assert.deepEqual(decode(1, ethernet(0x86dd, ip)), { ok: false, reason: 'bad-ip-header' });
  const v5 = Uint8Array.from(ip);
  v5[0] = 0x55;
  assert.deepEqual(decode(12, v5), { ok: false, reason: 'not-ip' });
});

test('Ethernet padding after a short datagram stays out of the payload', () => {
  const ip = ipv4('192.0.2.1', '198.51.100.7', 17, udp(1234, 9000, [0xaa]));
  const frame = cat(ethernet(0x0800, ip), new Uint8Array(60 - 14 - ip.length).fill(0xee));
  assert.deepEqual([...event(decode(1, frame)).payload], [0xaa]);
});

test('every reason the decoder returns is in DECODE_REASONS, and the list has no duplicates', () => {
  assert.equal(new Set(DECODE_REASONS).size, DECODE_REASONS.length);
  const seen = decode(1, new Uint8Array(3));
  assert.ok(!seen.ok && DECODE_REASONS.includes(seen.reason));
});
