import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigText, type KnockDoor, type SpaDoor } from '../../../src/config';
import { ConfigError } from '../../../src/core';

const FIX = join(__dirname, '../../../../test/fixtures/config');
const KEY = 'base64:Vl3jrSHKs1Ujc4l6pLT9z7m8tXoZ1CfeNFQaGHnwqU8=';

test('defaults fill a minimal config', () => {
  const { config: c, warnings } = loadConfigText('{}');
  assert.deepEqual(warnings, []);
  assert.equal(c.table, 'knockctl');
  assert.deepEqual(c.interfaces, ['any']);
  assert.equal(c.stateDir, '/var/lib/knockctl');
  assert.equal(c.base.policy, 'drop');
  assert.equal(c.base.icmp, true);
  assert.equal(c.limits.maxSources, 100000);
  assert.deepEqual(c.doors, []);
});

test('a full config normalizes every field', () => {
  const { config: c } = loadConfigText(`
table: gate
interfaces: [eth0, eth1]
base: { policy: drop, allow: ["80/tcp", "53/udp"], allow_from: ["192.0.2.0/24", "2001:db8::/32"] }
doors:
  ssh:
    sequence: ["7000:tcp", "8000", "9000:udp"]
    seq_timeout: 15s
    tcpflags: syn,!ack
    open: ["22/tcp"]
    timeout: 5m
    from: ["10.0.0.0/8"]
    start_command: /usr/bin/logger knocked %IP%
  close:
    sequence: ["9000:tcp", "8000:tcp", "7000:tcp"]
    open: ["22/tcp"]
    action: revoke
  spa:
    spa:
      port: 62000
      window: 1m
      nat_prefix: { ipv4: 24 }
      clients: { alice: { key: "${KEY}" } }
    open: ["22/tcp", "443/tcp"]
    timeout: 60
`);
  assert.equal(c.table, 'gate');
  assert.deepEqual(c.base.allow, [{ port: 80, proto: 'tcp' }, { port: 53, proto: 'udp' }]);
  assert.deepEqual(c.base.allowFrom.map((x) => x.text), ['192.0.2.0/24', '2001:db8::/32']);
  const ssh = c.doors[0] as KnockDoor;
  assert.equal(ssh.kind, 'knock');
  assert.deepEqual(ssh.sequence, { type: 'static', steps: [{ port: 7000, proto: 'tcp' }, { port: 8000, proto: 'tcp' }, { port: 9000, proto: 'udp' }] });
  assert.equal(ssh.seqTimeoutSec, 15);
  assert.equal(ssh.timeoutSec, 300);
  assert.deepEqual(ssh.tcpFlags, { set: 0x02, unset: 0x10 });
  assert.deepEqual(ssh.hooks.startCommand, ['/usr/bin/logger', 'knocked', '%IP%']);
  assert.equal(ssh.from?.[0]?.text, '10.0.0.0/8');
  assert.equal((c.doors[1] as KnockDoor).action, 'revoke');
  const spa = c.doors[2] as SpaDoor;
  assert.equal(spa.kind, 'spa');
  assert.equal(spa.spa.port, 62000);
  assert.equal(spa.spa.windowSec, 60);
  assert.equal(spa.spa.natPrefix4, 24);
  assert.equal(spa.spa.clients[0]?.type, 'aead');
  assert.equal(spa.spa.clients[0]?.key.length, 32);
  assert.equal(Buffer.from(spa.spa.clients[0]?.key ?? []).toString('base64'), KEY.slice(7));
});

test('JSON configs load too', () => {
  const { config: c } = loadConfigText('{"doors": {"ssh": {"sequence": ["1", "2"], "open": ["22/tcp"]}}}');
  assert.equal(c.doors.length, 1);
});

test('rotating sequences normalize with defaults', () => {
  const { config: c } = loadConfigText('doors:\n  r:\n    sequence: { rotate: { secret_file: /etc/knockctl/r.secret, protocols: [tcp, udp] } }\n    open: ["22/tcp"]\n');
  assert.deepEqual((c.doors[0] as KnockDoor).sequence, {
    type: 'rotate', secretFile: '/etc/knockctl/r.secret', length: 4, stepSec: 30, portLow: 10000, portHigh: 60000, protocols: ['tcp', 'udp'],
  });
});

type Case = { label: string; text: string; issues: [string, string, number | null][] };
const cases = JSON.parse(readFileSync(join(FIX, 'bad-cases.json'), 'utf8')) as Case[];

for (const c of cases) {
  test(`bad config: ${c.label}`, () => {
    let err: unknown;
    try {
      loadConfigText(c.text, 'test.yaml');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    for (const [path, msg, line] of c.issues) {
      const hit: { line?: number } | undefined = err.issues.find((i) => i.path === path && i.message.includes(msg));
      assert.ok(hit, `no issue at "${path}" containing ${JSON.stringify(msg)}; got:\n${err.message}`);
      if (line !== null) assert.equal(hit.line, line, `line of ${path}`);
    }
    assert.match(err.message, /^invalid config test\.yaml: \d+ problems?/);
  });
}

test('every problem is reported, not just the first', () => {
  assert.throws(
    () => loadConfigText('bogus: 1\nbase: { policy: x }\ndoors:\n  a: { sequence: ["99999"], open: ["22/tcp"] }\n'),
    (e: unknown) => e instanceof ConfigError && e.issues.length === 3,
  );
});

test('a command-only door (knockd custom commands) may leave out open; an SPA door may not', () => {
  const { config: c } = loadConfigText('doors:\n  wake:\n    sequence: ["8001", "8002"]\n    start_command: ["/usr/bin/etherwake", "00:11:22:33:44:55"]\n');
  assert.deepEqual(c.doors[0]?.open, []);
  assert.deepEqual(c.doors[0]?.hooks.startCommand, ['/usr/bin/etherwake', '00:11:22:33:44:55']);
  assert.throws(() => loadConfigText(`doors:\n  s:\n    spa: { clients: { a: { key: "${KEY}" } } }\n    command: /bin/true\n`), /an SPA door needs "open"/);
});
