import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Service, formatService, localPorts, parseService, sameService } from '../../../src/core';

function parsed(s: string): Service {
  const r = parseService(s);
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.detail}`);
  return r.value;
}

test('the three forms parse to their kind and print canonically', () => {
  const cases: [string, Service, string][] = [
    ['22/tcp', { kind: 'local', port: 22, proto: 'tcp' }, '22/tcp'],
    ['53/udp', { kind: 'local', port: 53, proto: 'udp' }, '53/udp'],
    ['22', { kind: 'local', port: 22, proto: 'tcp' }, '22/tcp'],
    ['192.168.1.10:22/tcp', { kind: 'forward', family: 4, addr: '192.168.1.10', port: 22, proto: 'tcp' }, '192.168.1.10:22/tcp'],
    ['192.168.1.10:53/UDP', { kind: 'forward', family: 4, addr: '192.168.1.10', port: 53, proto: 'udp' }, '192.168.1.10:53/udp'],
    ['192.168.1.10:22', { kind: 'forward', family: 4, addr: '192.168.1.10', port: 22, proto: 'tcp' }, '192.168.1.10:22/tcp'],
    ['[2001:DB8:0:0::10]:22/tcp', { kind: 'forward', family: 6, addr: '2001:db8::10', port: 22, proto: 'tcp' }, '[2001:db8::10]:22/tcp'],
    ['2222/tcp=>192.168.1.10:22', { kind: 'dnat', port: 2222, proto: 'tcp', family: 4, toAddr: '192.168.1.10', toPort: 22 }, '2222/tcp=>192.168.1.10:22'],
    [' 2222 => [2001:db8::10]:22 ', { kind: 'dnat', port: 2222, proto: 'tcp', family: 6, toAddr: '2001:db8::10', toPort: 22 }, '2222/tcp=>[2001:db8::10]:22'],
    ['5353/udp=>10.0.0.5:53', { kind: 'dnat', port: 5353, proto: 'udp', family: 4, toAddr: '10.0.0.5', toPort: 53 }, '5353/udp=>10.0.0.5:53'],
  ];
  for (const [text, want, canon] of cases) {
    const s = parsed(text);
    assert.deepEqual(s, want, text);
    assert.equal(formatService(s), canon, text);
    assert.deepEqual(parsed(formatService(s)), s, `${text}: canonical text parses back to the same value`);
  }
});

test('bad services are refused with the value and the expected forms', () => {
  const cases: [string, RegExp][] = [
    ['70000/tcp', /not a port 1-65535/],
    ['22/sctp', /PORT\/PROTO/],
    ['2001:db8::10:22/tcp', /IPv6 address goes in brackets/],
    ['[192.168.1.10]:22/tcp', /in brackets is not an IPv6 address/],
    ['[2001:db8::10]22/tcp', /brackets: \[ADDR\]:PORT/],
    ['192.168.1.300:22/tcp', /"192\.168\.1\.300" is not an IPv4 or IPv6 address/],
    ['host.lan:22/tcp', /"host\.lan" is not an IPv4 or IPv6 address/],
    ['192.168.1.10:0/tcp', /not a port 1-65535/],
    ['2222/tcp=>192.168.1.10:22/udp', /after "=>".*not a port 1-65535 \(the protocol is the one before "=>"\)/],
    ['2222/tcp=>192.168.1.10', /after "=>": missing ":PORT"/],
    ['10.0.0.1:2222/tcp=>192.168.1.10:22', /before "=>"/],
    ['', /PORT\/PROTO/],
  ];
  for (const [text, re] of cases) {
    const r = parseService(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) {
      assert.match(r.detail ?? '', re, text);
      assert.ok((r.detail ?? '').includes(`"${text}"`) || text === '', `${text}: the message echoes the value`);
    }
  }
});

test('sameService compares canonical values; localPorts keeps only this host\'s ports', () => {
  assert.ok(sameService(parsed('22'), parsed('22/tcp')));
  assert.ok(sameService(parsed('[2001:db8:0::10]:22'), parsed('[2001:db8::10]:22/tcp')));
  assert.ok(!sameService(parsed('22/tcp'), parsed('192.168.1.10:22/tcp')), 'a local port is not a forwarded one');
  assert.ok(!sameService(parsed('192.168.1.10:22/tcp'), parsed('22/tcp=>192.168.1.10:22')), 'forwarding is not a port forward');
  assert.ok(!sameService(parsed('2222/tcp=>192.168.1.10:22'), parsed('2222/tcp=>192.168.1.11:22')));
  assert.deepEqual(localPorts(['22/tcp', '192.168.1.10:22/tcp', '2222/tcp=>192.168.1.10:22', '53/udp'].map(parsed)), [
    { port: 22, proto: 'tcp' }, { port: 53, proto: 'udp' },
  ]);
});
