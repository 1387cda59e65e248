/** Router doors in the config: the three service forms, and what check-config refuses about them. */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/core';
import { loadConfigText, localTargetIssues } from '../../../src/config';

function issues(text: string): { path: string; message: string; line?: number }[] {
  try {
    loadConfigText(text, 'r.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.issues];
  }
  assert.fail('expected a ConfigError');
}

test('mixed open lists load: local services, forwarded services, port forwards, IPv4 and IPv6', () => {
  const { config } = loadConfigText(`
doors:
  lan:
    sequence: ["7000", "8000"]
    open: ["22/tcp", "192.168.1.10:22/tcp", "[fd00::10]:22", "2222/tcp=>192.168.1.10:22", "5353/udp=>[fd00::10]:53"]
    set_size: 4096
  spa:
    spa: { clients: { a: { key: "base64:${createHash('sha256').update('key 3').digest('base64')}", open: ["192.168.1.10:22/tcp"] } } }
    open: ["192.168.1.10:22/tcp", "443/tcp"]
`);
  const lan = config.doors[0]!;
  assert.deepEqual(lan.open.map((s) => s.kind), ['local', 'forward', 'forward', 'dnat', 'dnat']);
  assert.equal(lan.setSize, 4096);
  assert.equal(config.doors[1]!.setSize, undefined);
  const spa = config.doors[1]!;
  assert.ok(spa.kind === 'spa' && spa.spa.clients[0]!.open?.[0]?.kind === 'forward');
});

test('bad forms and targets are refused at their path, with the value', () => {
  const cases: [string, string, RegExp][] = [
    ['"192.168.1.300:22/tcp"', 'doors.d.open[0]', /is not a service/],
    ['"2001:db8::1:22/tcp"', 'doors.d.open[0]', /IPv6 address goes in brackets/],
    ['"127.0.0.1:22/tcp"', 'doors.d.open[0]', /127\.0\.0\.1 is a loopback address/],
    ['"2222/tcp=>0.0.0.0:22"', 'doors.d.open[0]', /not a host address/],
    ['"[ff02::1]:22/tcp"', 'doors.d.open[0]', /multicast/],
    ['"[fe80::1]:22/tcp"', 'doors.d.open[0]', /link-local/],
    ['"2222/tcp=>192.168.1.10:22/tcp"', 'doors.d.open[0]', /protocol is the one before "=>"/],
  ];
  for (const [svc, path, re] of cases) {
    const got = issues(`doors:\n  d:\n    sequence: ["7000"]\n    open: [${svc}]\n`);
    const hit = got.find((i) => i.path === path && re.test(i.message));
    assert.ok(hit, `${svc}: ${JSON.stringify(got)}`);
    assert.equal(hit.line, 4, `${svc}: the line of the entry`);
  }
  assert.ok(issues('doors:\n  d:\n    sequence: ["7000"]\n    open: ["22/tcp"]\n    set_size: 0\n').some((i) => i.path === 'doors.d.set_size'));
});

test('overlapping port forwards and a port both forwarded and served here are refused', () => {
  const got = issues(`
base: { allow: ["8080/tcp"] }
doors:
  a: { sequence: ["7000"], open: ["2222/tcp=>192.168.1.10:22", "22/tcp"] }
  b: { sequence: ["7001"], open: ["2222/tcp=>192.168.1.11:22", "2222/tcp=>192.168.1.10:22", "2222/tcp=>[fd00::10]:22"] }
  c: { sequence: ["7002"], open: ["8080/tcp=>192.168.1.12:80", "22/tcp=>192.168.1.13:22"] }
`);
  const at = (p: string) => got.filter((i) => i.path === p).map((i) => i.message).join(' | ');
  assert.match(at('doors.b.open[0]'), /overlaps "2222\/tcp=>192\.168\.1\.10:22" of door "a": this host's 2222\/tcp can be forwarded to one IPv4 target only/);
  assert.equal(at('doors.b.open[1]'), '', 'the same port forward in two doors is fine');
  assert.equal(at('doors.b.open[2]'), '', 'one IPv4 and one IPv6 target for the same port is fine');
  assert.match(at('doors.c.open[0]'), /8080\/tcp is also this host's own service \(base\.allow\)/);
  assert.match(at('doors.c.open[1]'), /22\/tcp is also this host's own service \(door "a"\)/);
});

test('a forwarded service or port forward to one of this host\'s addresses is refused (given the addresses)', () => {
  const { config } = loadConfigText('doors:\n  d: { sequence: ["7000"], open: ["22/tcp", "192.168.1.1:22/tcp", "2222/tcp=>[fd00::1]:22", "192.168.1.10:80/tcp"] }\n');
  const own = new Set(['192.168.1.1', 'fd00::1']);
  assert.deepEqual(localTargetIssues(config.doors, (a) => own.has(a)).map((i) => [i.path, /is an address of this host/.test(i.message)]), [
    ['doors.d.open[1]', true], ['doors.d.open[2]', true],
  ]);
  assert.match(localTargetIssues(config.doors, (a) => own.has(a))[0]!.message, /write "22\/tcp"/);
  assert.deepEqual(localTargetIssues(config.doors, () => false), []);
});
