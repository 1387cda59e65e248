/** The CLI side of the lock-out checks: refuse, override, report, and the loud unknown-session warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadConfigText } from '../../../src/config';
import { UsageError } from '../../../src/core';
import { enforceLints, unknownSessionWarning } from '../../../src/cli/lockout';

function sink(): { out: Writable; text: () => string } {
  let buf = '';
  const out = new Writable({ write: (c, _e, cb) => { buf += String(c); cb(); } });
  return { out, text: () => buf };
}

const EMPTY = loadConfigText('{}').config;
const DOOR = loadConfigText('doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n').config;

test('an error refuses with exit-2 usage error naming the file, the reason and the override', () => {
  const s = sink();
  assert.throws(() => enforceLints(EMPTY, '/etc/k.yaml', {}, 'refuse', s.out), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /^refused: this config would lock you out:\n  nothing-open: \/etc\/k\.yaml: no doors/);
    assert.match(e.message, /pass --allow-lockout/);
    return true;
  });
});

test('--allow-lockout prints the error as an overridden warning; --dry-run reports it', () => {
  const a = sink();
  enforceLints(EMPTY, 'k.yaml', {}, 'allow', a.out);
  assert.match(a.text(), /^warning \(allowed by --allow-lockout\): k\.yaml: no doors/);
  const r = sink();
  enforceLints(EMPTY, 'k.yaml', {}, 'report', r.out);
  assert.match(r.text(), /^error \(an install would be refused\): k\.yaml: no doors/);
});

test('the SSH caller found goes into the lints', () => {
  const s = sink();
  assert.doesNotThrow(() => enforceLints(DOOR, 'k.yaml', { caller: { addr: '192.0.2.7', port: 22, via: 'x' } }, 'refuse', s.out));
  assert.throws(() => enforceLints(DOOR, 'k.yaml', { caller: { addr: '192.0.2.7', port: 2222, via: 'x' } }, 'refuse', s.out), /ssh-port-closed/);
  assert.equal(s.text(), '');
});

test('unknown session: loud only for policy drop, a remote hint, no caller and anti-lockout wanted', () => {
  const hint = { remoteHint: 'started under sshd (pid 7)' };
  assert.match(unknownSessionWarning(DOOR, hint, true) ?? '', /^\*\*\* WARNING: this looks like a remote session \(started under sshd \(pid 7\)\)[\s\S]*NO anti-lockout grant[\s\S]*--confirm/);
  assert.equal(unknownSessionWarning(DOOR, {}, true), undefined, 'console or systemd');
  assert.equal(unknownSessionWarning(DOOR, { ...hint, caller: { addr: '192.0.2.7', port: 22, via: 'x' } }, true), undefined, 'found');
  assert.equal(unknownSessionWarning(DOOR, hint, false), undefined, '--no-keep-ssh');
  const guard = loadConfigText('base: { policy: guard }\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n').config;
  assert.equal(unknownSessionWarning(guard, hint, true), undefined, 'guard');
});
