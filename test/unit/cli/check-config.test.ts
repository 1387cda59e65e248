/**
 * check-config is the daemon's own check: every config the daemon refuses at start (runtime files,
 * the one-time record, listen addresses) check-config refuses too, with every problem at once, each at
 * its line; interfaces that do not exist are warnings in both; secrets are never echoed.
 * Runs on temporary files (no root): the daemon side uses its real file adapters and fake capture/nft.
 */
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/core';
import { loadConfigText } from '../../../src/config';
import { Daemon } from '../../../src/daemon';
import { createLogger } from '../../../src/log';
import { FsRuntimeFiles } from '../../../src/io/runtime-files';
import { FsStateStore } from '../../../src/io/state-store';
import { inspectConfigFile } from '../../../src/cli/check-config';
import { FakeCapture, FakeClock, RecordingHooks, RecordingNft } from '../daemon/fakes';

const KEY = 'base64:' + createHash('sha256').update('check-config test key').digest('base64');

function workdir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'state'), { mode: 0o700 });
  return dir;
}

function write(dir: string, name: string, text: string, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

/** Start a daemon on `file` the way `knockctl daemon` does (real file adapters); its error, or undefined. */
async function daemonStartError(file: string, text: string): Promise<{ error?: unknown; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  let error: unknown;
  let d: Daemon | undefined;
  try {
    const cfg = loadConfigText(text, file).config;
    d = new Daemon({ capture: new FakeCapture(), nft: new RecordingNft(), clock: new FakeClock(), log: createLogger({ level: 'debug', destination: sink }), isLocal: () => true, store: new FsStateStore(cfg.stateDir), hooks: new RecordingHooks(), files: new FsRuntimeFiles(file) });
    await d.start(cfg);
  } catch (e) {
    error = e;
  }
  if (d && error === undefined) await d.stop();
  return { error, lines };
}

test('runtime problems: check-config and the daemon refuse the same config; check-config lists all, at their lines', async (t) => {
  const dir = workdir(t);
  write(dir, 'short.secret', 'base64:AAAA\n');
  const text = [
    'table: kt',                                                             // 1
    `state_dir: ${join(dir, 'state')}`,                                      // 2
    'doors:',                                                                // 3
    '  rot:',                                                                // 4
    `    sequence: { rotate: { secret_file: ${join(dir, 'missing')} } }`,    // 5
    '    open: ["22/tcp"]',                                                  // 6
    '  short:',                                                              // 7
    '    sequence:',                                                         // 8
    '      rotate:',                                                         // 9
    `        secret_file: ${join(dir, 'short.secret')}`,                     // 10
    '    open: ["2222/tcp"]',                                                // 11
    '  once:',                                                               // 12
    `    one_time_sequences: ${join(dir, 'none.txt')}`,                      // 13
    '    open: ["22/tcp"]',                                                  // 14
    '',
  ].join('\n');
  const file = write(dir, 'config.yaml', text);
  const r = await inspectConfigFile(file);
  assert.equal(r.config, undefined);
  assert.deepEqual(r.issues.map((i) => [i.line, i.path]), [
    [5, 'doors.rot.sequence.rotate.secret_file'],
    [10, 'doors.short.sequence.rotate.secret_file'],
    [13, 'doors.once.one_time_sequences'],
  ]);
  assert.match(r.issues[0]!.message, /cannot read .*missing: no such file/);
  assert.match(r.issues[1]!.message, /at least 16 are needed/);
  const started = await daemonStartError(file, text);
  assert.ok(started.error instanceof ConfigError, `the daemon refuses it too: ${String(started.error)}`);
  assert.deepEqual(started.error.issues.map((i) => i.path).sort(), r.issues.map((i) => i.path).sort(), 'the same problems');
});

test('text and runtime problems are reported together; a bad listen port is refused by both', async (t) => {
  const dir = workdir(t);
  const text = `state_dir: ${join(dir, 'state')}\nmetrics: { listen: "127.0.0.1:99999" }\ndoors:\n  rot:\n    sequence: { rotate: { secret_file: /nonexistent/s } }\n    open: ["22/tcp"]\n    bogus: 1\n`;
  const file = write(dir, 'config.yaml', text);
  const r = await inspectConfigFile(file);
  assert.deepEqual(r.issues.map((i) => [i.line, i.path]), [[2, 'metrics.listen'], [5, 'doors.rot.sequence.rotate.secret_file'], [7, 'doors.rot.bogus']]);
  assert.match(r.issues[0]!.message, /99999 is not a port 1-65535/);
  assert.throws(() => loadConfigText(text), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'metrics.listen'));
});

test('an unreadable record of used one-time sequences fails closed in both (ENOENT is first use)', async (t) => {
  const dir = workdir(t);
  write(dir, 'once.txt', '7000,8000,9000\n');
  const text = `state_dir: ${join(dir, 'state')}\ndoors:\n  once:\n    one_time_sequences: ${join(dir, 'once.txt')}\n    open: ["22/tcp"]\n`;
  const file = write(dir, 'config.yaml', text);
  assert.ok((await inspectConfigFile(file)).config, 'no record yet: first use is fine');
  assert.equal((await daemonStartError(file, text)).error, undefined);
  mkdirSync(join(dir, 'state', 'onetime.consumed')); // reading it now fails with EISDIR
  const r = await inspectConfigFile(file);
  assert.equal(r.issues.length, 1);
  assert.match(r.issues[0]!.message, /cannot read the record of used one-time sequences.*refusing/);
  assert.equal(r.issues[0]!.line, 4);
  const started = await daemonStartError(file, text);
  assert.ok(started.error instanceof ConfigError && /record of used one-time sequences/.test(started.error.message));
});

test('interfaces that do not exist are warnings in both, not errors; a malformed name is an error', async (t) => {
  const dir = workdir(t);
  const text = `state_dir: ${join(dir, 'state')}\ninterfaces: [lo, nosuch9]\ndoors:\n  d:\n    sequence: ["7000", "8000"]\n    open: ["22/tcp"]\n    interfaces: [wg7]\n`;
  const file = write(dir, 'config.yaml', text);
  const r = await inspectConfigFile(file);
  assert.ok(r.config);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.path]), [[2, 'interfaces[1]'], [7, 'doors.d.interfaces[0]']]);
  const started = await daemonStartError(file, text);
  assert.equal(started.error, undefined);
  assert.deepEqual(started.lines.filter((l) => l.event === 'config-warning').map((l) => l.path), ['interfaces[1]', 'doors.d.interfaces[0]']);
  const bad = write(dir, 'bad.yaml', 'interfaces: ["eth0/x"]\n');
  assert.match((await inspectConfigFile(bad)).issues[0]?.message ?? '', /is not an interface name/);
});

test('a config with SPA keys that group or others can read gets a warning; so do secret files', async (t) => {
  const dir = workdir(t);
  const secret = write(dir, 'rot.secret', 'base64:' + Buffer.alloc(32, 1).toString('base64'), 0o640);
  const text = `state_dir: ${join(dir, 'state')}\ndoors:\n  spa:\n    spa: { clients: { alice: { key: "${KEY}" } } }\n    open: ["22/tcp"]\n  rot:\n    sequence: { rotate: { secret_file: ${secret} } }\n    open: ["2222/tcp"]\n`;
  const file = write(dir, 'config.yaml', text, 0o644);
  const r = await inspectConfigFile(file);
  assert.ok(r.config, 'a warning, not an error');
  assert.ok(r.warnings.some((w) => w.message.includes(`${file} holds SPA keys and group or others can read it (mode 0644): run chmod 600`)));
  assert.ok(r.warnings.some((w) => w.path === 'doors.rot.sequence.rotate.secret_file' && /mode 0640/.test(w.message)));
  chmodSync(file, 0o600);
  chmodSync(secret, 0o600);
  assert.deepEqual((await inspectConfigFile(file)).warnings, []);
  const started = await daemonStartError(file, text.replace(`${secret}`, secret));
  assert.equal(started.error, undefined);
});

test('secrets are never echoed: a bad key is absent from every issue, at any check', async (t) => {
  const dir = workdir(t);
  const badKeys = ['base64:c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLXNob3J0', 'hex:00112233445566778899aabbccddeeff', 'not-even-a-format-TOPSECRET'];
  for (const k of badKeys) {
    const text = `state_dir: ${join(dir, 'state')}\ndoors:\n  spa:\n    spa: { clients: { alice: { key: "${k}" }, bob: { public_key: "${k}x" } } }\n    open: ["22/tcp"]\n`;
    const file = write(dir, 'config.yaml', text);
    const r = await inspectConfigFile(file);
    assert.ok(r.issues.length >= 2, `the bad keys are reported (${k})`);
    let thrown = '';
    try {
      loadConfigText(text, file);
    } catch (e) {
      thrown = (e as Error).message;
    }
    const all = JSON.stringify(r) + thrown;
    const b64 = k.slice(k.indexOf(':') + 1);
    assert.ok(!all.includes(k) && !all.includes(b64), `key text leaked: ${all}`);
    assert.match(thrown, /doors\.spa\.spa\.clients\.alice\.key/);
  }
});

test('fwknop doors: bad key and hmac_key values are redacted; a readable config with their keys warns', async (t) => {
  const dir = workdir(t);
  const hmac = Buffer.alloc(48, 5).toString('base64');
  const bad = `state_dir: ${join(dir, 'state')}\ndoors:\n  fw:\n    open: ["22/tcp"]\n    spa:\n      format: fwknop\n      clients:\n        p: { key: "base64:not*base64*SECRETVALUE", hmac_key: "hmac:SECRETHMACVALUE123" }\n`;
  const file = write(dir, 'config.yaml', bad);
  const r = await inspectConfigFile(file);
  assert.ok(r.issues.length >= 1);
  const all = JSON.stringify(r);
  assert.ok(!all.includes('SECRETVALUE') && !all.includes('SECRETHMACVALUE123'), all);
  const good = bad.replace('base64:not*base64*SECRETVALUE', `base64:${Buffer.alloc(32, 4).toString('base64')}`).replace('hmac:SECRETHMACVALUE123', `base64:${hmac}`);
  const readable = write(dir, 'good.yaml', good, 0o604);
  const g = await inspectConfigFile(readable);
  assert.ok(g.config, JSON.stringify(g.issues));
  assert.ok(g.warnings.some((w) => /holds SPA keys and group or others can read it \(mode 0604\)/.test(w.message)));
});

test('a state_dir that cannot be created: check-config and `knockctl daemon` both refuse it (exit 2)', async (t) => {
  const dir = workdir(t);
  const blocker = write(dir, 'plainfile', 'x');
  const text = `state_dir: ${blocker}/state\ndoors:\n  d:\n    sequence: ["7000", "8000"]\n    open: ["22/tcp"]\n`;
  const file = write(dir, 'config.yaml', text);
  const r = await inspectConfigFile(file);
  assert.deepEqual(r.issues.map((i) => [i.line, i.path]), [[1, 'state_dir']]);
  assert.match(r.issues[0]!.message, /is not a directory/);
  const { spawnSync } = await import('node:child_process');
  const main = join(__dirname, '../../../src/cli/launch.js');
  for (const cmd of ['check-config', 'daemon']) {
    const p = spawnSync(process.execPath, [main, cmd, '-c', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(p.status, 2, `${cmd}: ${p.stderr}`);
    assert.match(p.stderr, /config\.yaml:1: state_dir: cannot create .*is not a directory/);
  }
});
