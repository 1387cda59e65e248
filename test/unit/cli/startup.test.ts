/**
 * CLI start-up: each subcommand loads only what it needs (the 150 ms goal is measured in
 * docs/BENCHMARKS.md, not here). Checked by the modules a real run has loaded when it exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MAIN = resolve(__dirname, '../../../src/cli/main.js');
const HOOK = resolve(__dirname, 'loaded-modules.js');

function loadedBy(...args: string[]): string[] {
  const r = spawnSync(process.execPath, ['-r', HOOK, MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 20000 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  assert.ok(line, `no module list (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(line.slice(7)) as string[];
}

const has = (mods: string[], re: RegExp): boolean => mods.some((m) => re.test(m));

test('knockctl knock loads neither the config loader (yaml, ajv) nor the daemon, pino or koffi', () => {
  // A UDP knock to the discard port on loopback: sends one datagram, needs no root.
  const mods = loadedBy('knock', '-u', '127.0.0.1', '9');
  assert.ok(has(mods, /cli\/knock\.js$/), 'the knock command ran');
  for (const re of [/node_modules\/yaml\//, /node_modules\/ajv\//, /node_modules\/pino\//, /node_modules\/koffi\//, /src\/daemon\//, /src\/knock\/engine\.js$/]) {
    assert.ok(!has(mods, re), `knock loaded ${re}`);
  }
});

test('knockctl check-config validates with the validator generated at build time: no ajv compiler, no daemon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-startup-'));
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, 'doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n');
  const mods = loadedBy('check-config', '-c', cfg);
  assert.ok(has(mods, /config\/generated\/config\.schema\.json\.js$/), 'the generated validator was used (run make build)');
  for (const re of [/node_modules\/ajv\/dist\/core\.js$/, /node_modules\/ajv\/dist\/compile\//, /node_modules\/pino\//, /node_modules\/koffi\//, /src\/daemon\/daemon\.js$/, /src\/nft\//]) {
    assert.ok(!has(mods, re), `check-config loaded ${re}`);
  }
});
