/** `knockctl status` formatting: fixed inputs, fixed clock, with and without colour. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessEntry } from '../../../src/core';
import { loadConfigText } from '../../../src/config';
import { newStats, type DaemonStats } from '../../../src/daemon';
import { COLOR, COUNTER_ROWS, PLAIN, daemonView, formatDaemon, formatStatus, statusJson, useColor } from '../../../src/cli/status';

const START = Date.parse('2025-03-01T10:00:00.000Z');
const NOW = START + (3 * 3600 + 125) * 1000;

function stats(): DaemonStats {
  const s = newStats(START);
  Object.assign(s, { packets: 40, knocks: 12, knockSuccesses: 3, evictions: 0, grants: 4, revokes: 1, spaAccepted: 1, nftFailures: 0 });
  s.spaRejected = { replay: 1, 'bad-mac': 3 };
  s.decodeErrors = { 'truncated-ip': 2 };
  return s;
}

const running = daemonView({ pid: 4242, startedAt: new Date(START).toISOString(), updatedAt: new Date(NOW - 3000).toISOString(), stats: stats() });
const stopped = daemonView(undefined);

const entries: AccessEntry[] = [
  { family: 6, addr: '2001:db8::7', proto: 'tcp', port: 22, door: 'ssh-spa', timeoutSec: 60, expiresSec: 41, set: 'allowed6' },
  { family: 4, addr: '192.0.2.7', proto: 'tcp', port: 22, door: 'ssh', timeoutSec: 30, expiresSec: 12, set: 'allowed4' },
  { family: 4, addr: '198.51.100.9', proto: 'tcp', port: 443, set: 'allowed4', timeoutSec: 3600, expiresSec: 3599 },
];

const cfg = loadConfigText(`
doors:
  ssh: { sequence: ["7000:tcp", "8000:tcp", "9000:udp"], open: ["22/tcp"], timeout: 30 }
`, 'test.yaml').config;

test('status for a person: daemon, counters, grants by time left, doors (golden)', () => {
  const text = formatStatus('knockctl', entries, cfg, { daemon: running, now: NOW });
  assert.equal(text, [
    'daemon: running, pid 4242, since 2025-03-01T10:00:00Z (up 3h2m5s)',
    'counters since start:',
    '  packets         40',
    '  duplicates       0',
    '  capture drops    0',
    '  knocks seen     12',
    '  knock successes  3',
    '  knock resets     0',
    '  grants           4',
    '  revokes          1',
    '  SPA accepted     1',
    '  SPA rejected     4  (bad-mac 3, replay 1)',
    '  evictions        0',
    '  decode errors    2  (truncated-ip 2)',
    '  nft failures     0',
    '  set full         0',
    '  hook failures    0',
    '  internal errors  0',
    '',
    'table inet knockctl: 3 grants',
    'SOURCE        SERVICE  DOOR           TIME LEFT',
    '192.0.2.7     22/tcp   ssh            12s of 30s',
    '2001:db8::7   22/tcp   ssh-spa        41s of 1m',
    '198.51.100.9  443/tcp  (kernel door)  59m59s of 1h',
    '',
    'doors (1), policy drop:',
    '  ssh: daemon door, 3 knocks within 10s; opens 22/tcp for 30s',
  ].join('\n'));
});

test('a daemon that is not running is said so, with how to start it; no counters', () => {
  assert.deepEqual(formatDaemon(stopped, NOW), ['daemon: not running (start it: systemctl start knockctl)']);
  const text = formatStatus('kt', [], undefined, { daemon: stopped, now: NOW });
  assert.equal(text, 'daemon: not running (start it: systemctl start knockctl)\n\ntable inet kt: 0 grants');
});

test('a status file not updated for over 30 s while the pid lives is flagged', () => {
  const stale = { ...running, updated: new Date(NOW - 95000).toISOString() };
  assert.equal(formatDaemon(stale, NOW)[1], '  warning: the daemon has not updated its status for 1m35s');
  assert.equal(formatDaemon(running, NOW)[1], 'counters since start:');
});

test('colour: green running, red not running, bold headers, warnings only on non-zero counters', () => {
  const v = { ...running, counters: { ...running.counters!, nft_failures: 2 } };
  const lines = formatDaemon(v, NOW, COLOR);
  assert.match(lines[0]!, /\x1b\[32mrunning\x1b\[0m/);
  assert.ok(lines.includes('  nft failures     \x1b[31m2\x1b[0m'), lines.join('\n'));
  assert.ok(lines.includes('  evictions        0'), 'a zero counter is never highlighted');
  assert.match(formatDaemon(stopped, NOW, COLOR)[0]!, /\x1b\[31mnot running\x1b\[0m/);
  assert.match(formatStatus('kt', entries, undefined, { paint: COLOR }), /^\x1b\[1mtable inet kt: 3 grants\x1b\[0m\n\x1b\[1mSOURCE/);
  assert.doesNotMatch(formatStatus('kt', entries, cfg, { daemon: v, now: NOW, paint: PLAIN }), /\x1b/);
});

test('colour only on a TTY and without NO_COLOR', () => {
  const cases: [boolean | undefined, NodeJS.ProcessEnv, boolean][] = [
    [true, {}, true],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '' }, true],
    [false, {}, false],
    [undefined, {}, false],
  ];
  for (const [tty, env, want] of cases) assert.equal(useColor(tty, env), want, `isTTY=${tty} env=${JSON.stringify(env)}`);
});

test('--json: stable daemon fields (running, pid, since, counters with snake_case names)', () => {
  const j = statusJson('knockctl', entries.slice(0, 1), running) as { daemon: unknown; grants: unknown[] };
  assert.deepEqual(j.daemon, {
    running: true, pid: 4242, since: '2025-03-01T10:00:00.000Z', updated: new Date(NOW - 3000).toISOString(),
    counters: {
      packets: 40, duplicates: 0, capture_dropped: 0, knocks: 12, knock_successes: 3, knock_resets: {}, evictions: 0, grants: 4, revokes: 1,
      spa_accepted: 1, spa_rejected: { replay: 1, 'bad-mac': 3 }, decode_errors: { 'truncated-ip': 2 },
      nft_failures: 0, set_full: {}, hook_failures: 0, internal_errors: 0,
    },
  });
  assert.equal(j.grants.length, 1);
  assert.deepEqual((statusJson('kt', [], stopped) as { daemon: unknown }).daemon, { running: false, pid: null, since: null, updated: null, counters: null });
});

test('a status file from an older daemon missing a counter reads as 0, not undefined', () => {
  const old = { ...stats() } as Partial<DaemonStats>;
  delete old.hookFailures;
  const v = daemonView({ pid: 1, startedAt: new Date(START).toISOString(), updatedAt: new Date(NOW).toISOString(), stats: old as DaemonStats });
  assert.equal(v.counters?.hook_failures, 0);
});

test('router grants: forwarded services and port forwards are shown in their config form', () => {
  const router = loadConfigText(`
doors:
  lan: { sequence: ["7000"], open: ["192.168.1.10:22/tcp", "2222/tcp=>192.168.1.10:22"] }
`, 'r.yaml').config;
  const rows: AccessEntry[] = [
    { family: 4, addr: '192.0.2.7', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, door: 'lan', timeoutSec: 30, expiresSec: 20, set: 'fwd4_lan' },
    { family: 4, addr: '192.0.2.7', kind: 'dnat', proto: 'tcp', port: 2222, door: 'lan', timeoutSec: 30, expiresSec: 21, set: 'dnat4_lan' },
    { family: 4, addr: '192.0.2.8', kind: 'dnat', proto: 'udp', port: 5353, door: 'lan', timeoutSec: 30, expiresSec: 22, set: 'dnat4_lan' },
  ];
  const text = formatStatus('kt', rows, router);
  assert.match(text, /192\.0\.2\.7 +192\.168\.1\.10:22\/tcp +lan +20s of 30s/);
  assert.match(text, /192\.0\.2\.7 +2222\/tcp=>192\.168\.1\.10:22 +lan/);
  assert.match(text, /192\.0\.2\.8 +5353\/udp=>\? +lan/, 'a port forward the config no longer has');
  const j = statusJson('kt', rows, undefined, undefined, router) as { grants: { service: string; port: number }[] };
  assert.deepEqual(j.grants.map((g) => [g.service, g.port]), [['192.168.1.10:22/tcp', 22], ['2222/tcp=>192.168.1.10:22', 2222], ['5353/udp=>?', 5353]]);
});

test('the human output shows every counter status --json has', () => {
  const keys = Object.keys(running.counters!).sort();
  assert.deepEqual(COUNTER_ROWS.map((r) => r[0]).sort(), keys);
  const text = formatDaemon(running, NOW).join('\n');
  for (const [, label] of COUNTER_ROWS) assert.match(text, new RegExp(`^  ${label} +\\d+`, 'm'), label);
});

test('a pending rollback and the last rollback are shown; JSON has them under rollback', () => {
  const rb = { pendingUntil: NOW + 41500, last: '2025-03-01T13:00:00.000Z install-ruleset --confirm was not confirmed in time: restored' };
  const text = formatStatus('kt', [], undefined, { rollback: rb, now: NOW });
  assert.equal(text, [
    'rollback pending: the previous table comes back in 42s unless you run: knockctl confirm',
    `last rollback: ${rb.last}`,
    '',
    'table inet kt: 0 grants',
  ].join('\n'));
  assert.equal(formatStatus('kt', [], undefined, { rollback: {}, now: NOW }), 'table inet kt: 0 grants');
  assert.deepEqual((statusJson('kt', [], undefined, rb) as { rollback: unknown }).rollback, { pending_until: new Date(NOW + 41500).toISOString(), last: rb.last });
  assert.deepEqual((statusJson('kt', [], undefined, {}) as { rollback: unknown }).rollback, { pending_until: null, last: null });
});
