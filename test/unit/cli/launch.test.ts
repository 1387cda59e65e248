/**
 * The launcher of the bundled CLI (src/cli/launch.ts): the code cache is used only for the bundle it
 * was made from, never for the daemon, and the bundle runs as a CommonJS main module. The last test
 * checks what `make build` produced: the shipped bundle and its cache under the installed flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUNDLE, cacheFileOf, compileBundle, run, subcommandOf, writeCodeCache } from '../../../src/cli/launch';

const REPO = resolve(__dirname, '../../../..');

/** A bundle that reports how it ran into globalThis.__launchProbe. */
function fixture(body = "module.exports = 'one';"): string {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-launch-'));
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'helper.js'), "module.exports = 'helper';\n");
  const file = join(dir, 'bundle.js');
  writeFileSync(file, `#!/usr/bin/env node
"use strict";
globalThis.__launchProbe = { filename: __filename, dirname: __dirname, helper: require('./lib/helper.js'), sameModule: module.filename === __filename };
${body}
`);
  return file;
}

test('the subcommand is the first argument that is not an option', () => {
  assert.equal(subcommandOf(['--debug', 'daemon', '-c', 'x.yaml']), 'daemon');
  assert.equal(subcommandOf(['check-config', '-c', 'daemon']), 'check-config');
  assert.equal(subcommandOf(['--version']), undefined);
  assert.equal(subcommandOf([]), undefined);
});

test('a code cache written for the bundle is used; without one the bundle is compiled', () => {
  const file = fixture();
  assert.equal(compileBundle(file).cache, 'absent');
  assert.ok(writeCodeCache(file) > 0);
  assert.equal(compileBundle(file).cache, 'used');
});

test('a cache made from other content of the same length is not used (V8 itself checks only the length)', () => {
  const file = fixture("module.exports = 'one';");
  writeCodeCache(file);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace("'one'", "'two'"));
  assert.equal(readFileSync(file, 'utf8').length, text.length);
  assert.equal(compileBundle(file).cache, 'stale');
  writeFileSync(cacheFileOf(file), Buffer.alloc(8));
  assert.equal(compileBundle(file).cache, 'stale', 'a truncated cache file');
});

test('the bundle runs as a CommonJS main module: its own filename, dirname and relative requires; #! is allowed', () => {
  const file = fixture();
  writeCodeCache(file);
  const g = globalThis as { __launchProbe?: Record<string, unknown> };
  delete g.__launchProbe;
  assert.equal(run(file, ['check-config', '-c', 'x']), 'used');
  assert.deepEqual(g.__launchProbe, { filename: file, dirname: resolve(file, '..'), helper: 'helper', sameModule: true });
  delete g.__launchProbe;
  assert.equal(run(file, ['--debug', 'daemon']), 'skipped', 'the daemon compiles without the cache (idle memory)');
  assert.equal((g as { __launchProbe?: Record<string, unknown> }).__launchProbe?.helper, 'helper');
});

test('with source maps on, node\'s own loader runs the bundle (it maps stack traces only for what it compiled)', (t) => {
  const file = fixture();
  writeCodeCache(file);
  const g = globalThis as { __launchProbe?: Record<string, unknown> };
  delete g.__launchProbe;
  process.setSourceMapsEnabled(true);
  t.after(() => process.setSourceMapsEnabled(false));
  assert.equal(run(file, ['check-config']), 'skipped');
  assert.equal((g as { __launchProbe?: Record<string, unknown> }).__launchProbe?.helper, 'helper');
});

test('make build shipped a source map back to src/: --enable-source-maps names the TypeScript file of each frame', () => {
  const r = spawnSync(process.execPath, ['--enable-source-maps', join(REPO, 'dist/src/cli/launch.js'), '--debug', 'check-config', '-c', join(tmpdir(), 'knockctl-no-such-config.yaml')], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /at readConfigText \(.*src\/cli\/context\.ts:\d+:\d+\)/);
});

test('make build shipped an ASCII bundle whose code cache the installed node flags accept', () => {
  const text = readFileSync(BUNDLE);
  // One byte per character: V8 keeps an ASCII source as a one-byte string (a single non-ASCII byte
  // would double the source's memory in every process).
  assert.equal(text.findIndex((b) => b > 0x7f), -1, 'dist/bundle/knockctl.js is ASCII only');
  const flags = /^NODE_FLAGS := (.*)$/m.exec(readFileSync(join(REPO, 'Makefile'), 'utf8'))?.[1]?.trim().split(' ') ?? [];
  assert.ok(flags.length > 0);
  const r = spawnSync(process.execPath, [...flags, join(REPO, 'dist/src/cli/launch.js'), '--version'], {
    encoding: 'utf8', env: { ...process.env, KNOCKCTL_LAUNCH_DEBUG: '1' }, timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^knockctl \(nftknock\) \d+\.\d+\.\d+/);
  assert.match(r.stderr, /code cache used/);
});
