/** check-config on fwknop doors: keys readable by others warn; key material never shows in an issue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectConfigFile } from '../../../src/cli/check-config';

const KEY = Buffer.alloc(32, 3).toString('base64');
const HMAC = Buffer.alloc(64, 4).toString('base64');

function config(t: { after: (fn: () => void) => void }, text: string, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-fwcheck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `state_dir: ${dir}\n${text}`);
  chmodSync(file, mode);
  return file;
}

const door = (client: string): string => `doors:\n  fw:\n    open: ["22/tcp"]\n    spa:\n      format: fwknop\n      clients:\n        alice: { ${client} }\n`;

test('a config holding fwknop keys that others can read gets the warning', async (t) => {
  const file = config(t, door(`key: "base64:${KEY}", hmac_key: "base64:${HMAC}"`), 0o644);
  const r = await inspectConfigFile(file);
  assert.ok(r.config);
  assert.ok(r.warnings.some((w) => w.message.includes('holds SPA keys and group or others can read it')), JSON.stringify(r.warnings));
});

test('fwknop key material is never echoed, whatever is wrong with it', async (t) => {
  const long = Buffer.alloc(40, 5).toString('base64');
  const file = config(t, door(`key: "base64:${long}", hmac_key: "base64:${HMAC}", hmac_digest: whirlpool`), 0o600);
  const r = await inspectConfigFile(file);
  assert.ok(r.issues.length >= 1);
  const all = JSON.stringify([r.issues, r.warnings]);
  assert.ok(!all.includes(long) && !all.includes(HMAC), all);
});
