/**
 * Docs drift: the event names operations.md lists are exactly src/log's EVENTS, every event the code
 * logs is in EVENTS, and every name in EVENTS is logged somewhere (no promised event that never comes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EVENTS } from '../../../src/log';

const REPO = resolve(__dirname, '../../../..');
const ops = readFileSync(resolve(REPO, 'docs/operations.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const code = sources(resolve(REPO, 'src')).filter((f) => !f.endsWith(join('log', 'index.ts'))).map((f) => readFileSync(f, 'utf8')).join('\n');

test('operations.md lists exactly the events of src/log', () => {
  const m = /The events: ([\s\S]*?)\. \(/.exec(ops);
  assert.ok(m, 'operations.md has "The events: ..." followed by the note on this test');
  const listed = [...m[1]!.matchAll(/`([a-z-]+)`/g)].map((x) => x[1]).sort();
  assert.deepEqual(listed, [...EVENTS].sort());
});

test('every event the code logs is in EVENTS, and every name in EVENTS is logged', () => {
  const logged = new Set([...code.matchAll(/\bevent: '([a-z-]+)'/g)].map((x) => x[1]!));
  // `${what}-failed` for grant and revoke (daemon/actions.ts).
  if (/event: `\$\{what\}-failed`/.test(code)) for (const w of ['grant', 'revoke']) logged.add(`${w}-failed`);
  logged.delete('packet'); // a pcap listener's event name, not a log event
  const known = new Set<string>(EVENTS);
  assert.deepEqual([...logged].filter((e) => !known.has(e)), [], 'logged but not in EVENTS');
  assert.deepEqual([...EVENTS].filter((e) => !logged.has(e)), [], 'in EVENTS but never logged');
});
