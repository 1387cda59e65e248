/** System errors become one clear line with the right exit code (no raw ENOENT, no "internal error: getaddrinfo"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCodeOf, messageOf } from '../../../src/cli/exit';
import { fileError, fromSystemError, fsReason, resolveError } from '../../../src/cli/system-errors';
import { ConfigError, UsageError } from '../../../src/core';

function errno(code: string, extra: Record<string, unknown> = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '${String(extra.path ?? '')}'`), { code, ...extra });
}

const cases: { name: string; e: unknown; message: RegExp; exit: number }[] = [
  { name: 'unknown host (knock, spa)', e: errno('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'nosuchhost' }), message: /^knockctl: cannot resolve nosuchhost: no such host name \(check the spelling, or give an IP address\)$/, exit: 2 },
  { name: 'DNS down', e: errno('EAI_AGAIN', { syscall: 'getaddrinfo', hostname: 'example.org' }), message: /^knockctl: cannot resolve example\.org: no answer from the DNS resolver; check the resolver \(\/etc\/resolv\.conf\), or give an IP address$/, exit: 1 },
  { name: 'missing file', e: errno('ENOENT', { syscall: 'open', path: '/etc/x.key' }), message: /^knockctl: \/etc\/x\.key: no such file$/, exit: 2 },
  { name: 'permission denied', e: errno('EACCES', { syscall: 'open', path: '/etc/knockctl/config.yaml' }), message: /^knockctl: \/etc\/knockctl\/config\.yaml: permission denied/, exit: 1 },
  { name: 'no route', e: errno('ENETUNREACH', { syscall: 'send', address: '192.0.2.1' }), message: /^knockctl: cannot send to 192\.0\.2\.1: network unreachable \(no route\)$/, exit: 1 },
  { name: 'a bug stays an internal error', e: new TypeError('x is undefined'), message: /^knockctl: internal error: x is undefined \(run with --debug for details\)$/, exit: 1 },
  { name: 'usage', e: new UsageError('bad'), message: /^knockctl: bad$/, exit: 2 },
  { name: 'config', e: new ConfigError([{ path: 'a', message: 'b' }], 'f.yaml'), message: /^knockctl: invalid config f\.yaml: 1 problem\n  f\.yaml: a: b$/, exit: 2 },
];

for (const c of cases) {
  test(`errors: ${c.name}`, () => {
    const m = messageOf(c.e, false);
    assert.match(m, c.message);
    assert.doesNotMatch(m, /getaddrinfo|ENOENT|EACCES|ENOTFOUND/, 'no raw error codes');
    assert.equal(exitCodeOf(c.e), c.exit);
  });
}

test('file errors name the file and say why; missing is usage (2), unreadable is runtime (1)', () => {
  const missing = fileError('key file', 'a.key', errno('ENOENT'));
  assert.ok(missing instanceof UsageError);
  assert.equal(missing.message, 'cannot read key file a.key: no such file');
  const denied = fileError('config file', 'c.yaml', errno('EACCES'));
  assert.equal(exitCodeOf(denied), 1);
  assert.match(denied.message, /^cannot read config file c\.yaml: permission denied/);
  assert.equal(fsReason(errno('EISDIR')), 'is a directory, not a file');
  assert.equal(fsReason(new Error('plain')), 'plain');
});

test('resolve errors and non-system errors', () => {
  assert.ok(resolveError('h', errno('ENOTFOUND')) instanceof UsageError);
  assert.equal(exitCodeOf(resolveError('h', errno('ESERVFAIL'))), 1);
  assert.equal(fromSystemError(new Error('no code')), undefined);
  assert.equal(fromSystemError('a string'), undefined);
  assert.equal(fromSystemError(errno('EWHATEVER')), undefined);
});
