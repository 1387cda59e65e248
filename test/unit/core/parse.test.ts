import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseDuration, formatDuration, parsePortSpec, parseKnockStep, parseTcpFlags, tcpFlagsMatch,
  parseAddr, parseCidr, cidrContains, formatIPv6, parseIPv6, prefixOf,
} from '../../../src/core';

test('durations: seconds and units', () => {
  const cases: [number | string, number | undefined][] = [
    [30, 30], ['30', 30], ['30s', 30], ['5m', 300], ['2h', 7200], ['1d', 86400], ['1h30m', 5400], [' 10s ', undefined],
    ['5x', undefined], ['-1', undefined], [1.5, undefined], ['', undefined], ['1.5m', undefined], [-3, undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseDuration(input), want, `parseDuration(${JSON.stringify(input)})`);
  assert.equal(formatDuration(90), '1m30s');
  assert.equal(formatDuration(3600), '1h');
  assert.equal(formatDuration(5), '5s');
});

test('port specs and knock steps', () => {
  assert.deepEqual(parsePortSpec('22/tcp'), { ok: true, value: { port: 22, proto: 'tcp' } });
  assert.deepEqual(parsePortSpec('53/UDP'), { ok: true, value: { port: 53, proto: 'udp' } });
  assert.deepEqual(parsePortSpec('22'), { ok: true, value: { port: 22, proto: 'tcp' } });
  assert.equal(parsePortSpec('70000/tcp').ok, false);
  assert.equal(parsePortSpec('22:tcp').ok, false);
  assert.equal(parsePortSpec('22/icmp').ok, false);
  assert.deepEqual(parseKnockStep('9000:udp'), { ok: true, value: { port: 9000, proto: 'udp' } });
  assert.equal(parseKnockStep('0').ok, false);
  assert.equal(parseKnockStep('7000/tcp').ok, false);
});

test('tcpflags filters like knockd', () => {
  const f = parseTcpFlags('syn,!ack');
  assert.ok(f.ok);
  if (!f.ok) return;
  assert.equal(tcpFlagsMatch(f.value, 0x02), true);
  assert.equal(tcpFlagsMatch(f.value, 0x12), false);
  assert.equal(tcpFlagsMatch(f.value, 0x10), false);
  assert.equal(parseTcpFlags('syn,!syn').ok, false);
  assert.equal(parseTcpFlags('sin').ok, false);
});

test('addresses: canonical text as nft prints it', () => {
  assert.equal(parseAddr('10.0.0.1')?.text, '10.0.0.1');
  assert.equal(parseAddr('010.0.0.1'), undefined);
  assert.equal(parseAddr('2001:DB8:0:0:0:0:0:1')?.text, '2001:db8::1');
  assert.equal(parseAddr('::')?.text, '::');
  assert.equal(parseAddr('::1')?.text, '::1');
  assert.equal(parseAddr('fe80::1:0:0:1')?.text, 'fe80::1:0:0:1');
  assert.equal(parseAddr('2001:db8:0:1:0:0:0:1')?.text, '2001:db8:0:1::1');
  assert.equal(parseAddr('1:0:0:2:0:0:0:3')?.text, '1:0:0:2::3');
  assert.equal(parseAddr('::ffff:192.0.2.1')?.text, '::ffff:c000:201');
  assert.equal(parseAddr('1::2::3'), undefined);
  assert.equal(parseAddr('1:2:3:4:5:6:7:8:9'), undefined);
  assert.equal(parseAddr('example.com'), undefined);
  const b = parseIPv6('2001:db8::ff00:42:8329');
  assert.ok(b);
  assert.equal(formatIPv6(b as Uint8Array), '2001:db8::ff00:42:8329');
});

test('CIDR parsing, containment and prefixes', () => {
  const n = parseCidr('192.168.1.77/24');
  assert.equal(n?.text, '192.168.1.0/24');
  assert.ok(n && cidrContains(n, parseAddr('192.168.1.200')!.bytes));
  assert.ok(n && !cidrContains(n, parseAddr('192.168.2.1')!.bytes));
  assert.ok(n && !cidrContains(n, parseAddr('::1')!.bytes));
  const n6 = parseCidr('2001:db8:abcd::/45');
  assert.ok(n6 && cidrContains(n6, parseAddr('2001:db8:abc8::1')!.bytes));
  assert.ok(n6 && !cidrContains(n6, parseAddr('2001:db8:abd0::1')!.bytes));
  assert.equal(parseCidr('10.0.0.1')?.len, 32);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(prefixOf(parseAddr('2001:db8::1234:5678')!, 64), '2001:db8::/64');
});
