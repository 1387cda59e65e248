/**
 * Inputs `make fuzz` (load-config target) found to break loadConfigText's contract: it must return
 * a config or throw ConfigError, never another error, and never print to stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../../src/config';
import { ConfigError } from '../../../src/core';

function refused(text: string): ConfigError {
  try {
    loadConfigText(text, 'fuzz.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${(e as Error).name}: ${(e as Error).message}`);
    return e;
  }
  assert.fail('expected the config to be refused');
}

// seed=1490539248: yaml's toJS threw ReferenceError("Unresolved alias ...") out of loadConfigText.
for (const text of [
  '*a',
  '- <<: *ab',
  'doors:\n  s:\n  a:\n    <<: *d\n    sequence: ["1000"]\n',
  'doors:\n  ssh:\n    oren: [<<: *a"22/tcp"]\n    timeout: 0\n',
  'doors["23/doors:\n  a:\n    <<: *d\n    sequence: [0o17"1000"]\n',
]) {
  test(`an alias without its anchor is a ConfigError: ${JSON.stringify(text)}`, () => {
    const e = refused(text);
    assert.ok(e.issues.length > 0);
    assert.ok(e.issues.some((i) => /alias|anchor/i.test(i.message)), JSON.stringify(e.issues));
  });
}

test('a mapping used as a key is refused without a process warning on stderr', () => {
  const warnings: string[] = [];
  const original = process.emitWarning;
  process.emitWarning = ((w: string | Error) => void warnings.push(String(w))) as typeof process.emitWarning;
  try {
    refused('{ timeout: 0 }: 1\n');
    refused('doors:\n  ? [a, b]\n  : { open: ["22/tcp"] }\n');
  } finally {
    process.emitWarning = original;
  }
  assert.deepEqual(warnings, []);
});
