/**
 * `make install DESTDIR=<tmp>`: the layout, the modes, that the installed knockctl runs, that an
 * existing config is never overwritten, that systemd-analyze accepts the unit, and `make uninstall`.
 * Needs no network namespace; root only for the root:root ownership checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './support/lab';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = !has('make') ? 'make is not installed' : !existsSync(join(REPO, 'dist/bundle/knockctl.js')) ? 'run make build first' : undefined;
const isRoot = process.getuid?.() === 0;

function make(...args: string[]): { code: number; out: string } {
  const r = spawnSync('make', ['--no-print-directory', '-C', REPO, ...args], { encoding: 'utf8', timeout: 120000 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

const mode = (p: string): number => statSync(p).mode & 0o777;

test('make install DESTDIR=...: layout, modes, a runnable knockctl, config kept on reinstall, make uninstall', { skip }, (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'knockctl-install-'));
  t.after(() => rmSync(dest, { recursive: true, force: true }));
  const lib = join(dest, 'usr/local/lib/nftknock');
  const bin = join(dest, 'usr/local/bin/knockctl');
  const conf = join(dest, 'etc/knockctl/config.yaml');
  const unit = join(dest, 'usr/local/lib/systemd/system/knockctl.service');

  const r = make('install', `DESTDIR=${dest}`);
  assert.equal(r.code, 0, r.out);
  for (const p of ['dist/bundle/knockctl.js', 'dist/bundle/knockctl.js.cache', 'dist/bundle/knockctl.js.map', 'dist/src/cli/launch.js', 'package.json', 'docs/operations.md', 'node_modules/koffi/package.json']) {
    assert.ok(existsSync(join(lib, p)), `${p} installed under lib/nftknock`);
  }
  // The bundle holds every other package: what runs below runs without them.
  for (const p of ['node_modules/commander', 'node_modules/pino', 'node_modules/yaml', 'node_modules/ajv', 'node_modules/typescript', 'node_modules/esbuild', 'dist/src/config']) {
    assert.ok(!existsSync(join(lib, p)), `${p} is not installed`);
  }
  assert.ok(!existsSync(join(lib, 'dist/test')), 'no tests installed');
  assert.ok(!existsSync(`${lib}.new`) && !existsSync(`${lib}.old`), 'no staging directory left behind');
  assert.equal(mode(bin), 0o755);
  assert.equal(mode(conf), 0o600, 'the config holds keys: 0600');
  assert.equal(mode(join(dest, 'etc/knockctl')), 0o700);
  if (isRoot) assert.equal(statSync(conf).uid, 0, 'config is root-owned');

  const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: knockctl/);
  const check = spawnSync(bin, ['check-config', '-c', conf], { encoding: 'utf8', env: { ...process.env, KNOCKCTL_LAUNCH_DEBUG: '1' } });
  assert.equal(check.status, 0, `the example config must be valid: ${check.stdout}${check.stderr}`);
  assert.match(check.stderr, /code cache used/, 'the wrapper runs node with the flags the code cache was made under');

  const text = readFileSync(unit, 'utf8');
  for (const line of ['Type=notify', 'NotifyAccess=all', 'ExecStartPre=/usr/local/bin/knockctl check-config', 'ExecStartPre=/usr/local/bin/knockctl install-ruleset --no-keep-ssh',
    'ExecStart=/usr/local/bin/knockctl daemon', 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW',
    'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'StateDirectory=knockctl', 'StateDirectoryMode=0700',
    'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_PACKET AF_INET AF_INET6', 'SystemCallFilter=@system-service']) {
    assert.ok(text.split('\n').includes(line), `unit has ${line}`);
  }
  assert.doesNotMatch(text, /^MemoryDenyWriteExecute=/m, 'V8 needs W+X pages');
  assert.doesNotMatch(text, /@BINDIR@|@LIBDIR@/);

  // Reinstall over an edited config: the config stays, the new example lands beside it.
  writeFileSync(conf, 'table: mine\n');
  const again = make('install', `DESTDIR=${dest}`);
  assert.equal(again.code, 0, again.out);
  assert.equal(readFileSync(conf, 'utf8'), 'table: mine\n');
  assert.equal(mode(`${conf}.example`), 0o600);
  assert.match(again.out, /kept \/etc\/knockctl\/config\.yaml/);

  const un = make('uninstall', `DESTDIR=${dest}`);
  assert.equal(un.code, 0, un.out);
  assert.ok(!existsSync(lib) && !existsSync(bin) && !existsSync(unit), 'program, link and unit removed');
  assert.equal(readFileSync(conf, 'utf8'), 'table: mine\n', 'uninstall keeps the config');
  assert.match(un.out, /Kept: \/etc\/knockctl\/config\.yaml/);
});

test('systemd-analyze verify finds nothing wrong with the installed unit', { skip: skip ?? (has('systemd-analyze') ? undefined : 'systemd-analyze is not installed (apt install systemd)') }, (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'knockctl-unit-'));
  t.after(() => rmSync(dest, { recursive: true, force: true }));
  assert.equal(make('install', `DESTDIR=${dest}`).code, 0);
  // verify checks that ExecStart's binary is executable: point the unit at the staged wrapper.
  const staged = join(dest, 'usr/local/bin');
  const text = readFileSync(join(dest, 'usr/local/lib/systemd/system/knockctl.service'), 'utf8').replaceAll('/usr/local/bin/', `${staged}/`);
  const dir = join(dest, 'verify');
  mkdirSync(dir);
  writeFileSync(join(dir, 'knockctl.service'), text);
  const r = spawnSync('systemd-analyze', ['verify', join(dir, 'knockctl.service')], { encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  // Without systemd as PID 1, verify may still complain about the host's own units: only ours count.
  const ours = out.split('\n').filter((l) => /knockctl\.service/.test(l));
  assert.deepEqual(ours, [], out);
  assert.equal(r.status, 0, out);
  const target = make('check-systemd', `DESTDIR=${dest}`);
  assert.equal(target.code, 0, target.out);
  assert.match(target.out, /check-systemd: knockctl\.service ok/);
});
