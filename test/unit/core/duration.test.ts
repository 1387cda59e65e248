/**
 * One duration syntax: the parser, the formatter and both schemas' patterns agree exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../../../src/core';
import { loadConfigText } from '../../../src/config';
import { loadClientConfigText } from '../../../src/spa/client-config';
import { seeded } from '../../support/prng';

const REPO = resolve(__dirname, '../../../..');

/** Every string `pattern` found under a duration in a schema (config: the definition; client: timeout). */
function durationPatterns(): string[] {
  const cfg = JSON.parse(readFileSync(resolve(REPO, 'schemas/config.schema.json'), 'utf8'));
  const client = JSON.parse(readFileSync(resolve(REPO, 'schemas/client.schema.json'), 'utf8'));
  const strPattern = (oneOf: { type: string; pattern?: string }[]): string => oneOf.find((b) => b.type === 'string')?.pattern as string;
  const st = client.definitions.stanza.properties;
  return [strPattern(cfg.definitions.duration.oneOf), strPattern(st.timeout.oneOf), strPattern(st.rotate.properties.step.oneOf)];
}

test('durations: seconds, single units and compound forms in d, h, m, s order', () => {
  const cases: [number | string, number | undefined][] = [
    [0, 0], [90, 90], ['90', 90], ['30s', 30], ['5m', 300], ['2h', 7200], ['1d', 86400],
    ['1h30m', 5400], ['1d12h', 129600], ['2m5s', 125], ['1d2h3m4s', 93784], ['90m', 5400], ['0s', 0],
    ['', undefined], ['s', undefined], ['1h 30m', undefined], [' 30', undefined], ['30m1h', undefined], ['1h1h', undefined],
    ['1.5h', undefined], ['-5', undefined], ['+5', undefined], ['5x', undefined], ['1H', undefined], ['1h30', undefined],
    [1.5, undefined], [-1, undefined], [Number.MAX_SAFE_INTEGER + 1, undefined], ['99999999999999999999', undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseDuration(input), want, `parseDuration(${JSON.stringify(input)})`);
});

test('formatDuration writes what parseDuration reads back', () => {
  assert.equal(formatDuration(5400), '1h30m');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(86400 + 61), '1d1m1s');
  const rnd = seeded(1301);
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(rnd() * 10 ** Math.floor(rnd() * 9));
    assert.equal(parseDuration(formatDuration(n)), n, `round trip of ${n} (${formatDuration(n)})`);
  }
});

test('both schemas use DURATION_PATTERN, and it accepts exactly the strings parseDuration accepts', () => {
  for (const p of durationPatterns()) assert.equal(p, DURATION_PATTERN);
  const re = new RegExp(DURATION_PATTERN, 'u');
  const alphabet = '0123456789dhms dhms.-';
  const rnd = seeded(1302);
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    let s = '';
    const len = Math.floor(rnd() * 9);
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const parsed = parseDuration(s) !== undefined;
    if (parsed) accepted++;
    // A digit string too long for a safe integer matches the pattern but does not parse; none here.
    assert.equal(re.test(s), parsed, `pattern and parser disagree on ${JSON.stringify(s)}`);
  }
  assert.ok(accepted > 500, `the corpus exercises valid forms too (${accepted})`);
});

test('config, client.yaml and CLI accept the compound form', () => {
  const cfg = loadConfigText('doors:\n  d:\n    sequence: ["7000:tcp", "8000:tcp"]\n    seq_timeout: 1m30s\n    timeout: 1h30m\n    open: ["22/tcp"]\n').config;
  const d = cfg.doors[0];
  assert.ok(d && d.kind === 'knock');
  assert.equal(d.seqTimeoutSec, 90);
  assert.equal(d.timeoutSec, 5400);
  const st = loadClientConfigText('s:\n  host: 192.0.2.1\n  key_file: /k\n  timeout: 2h15m\n').get('s');
  assert.equal(st?.timeoutSec, 8100);
  assert.throws(() => loadConfigText('doors:\n  d:\n    sequence: ["7000:tcp"]\n    timeout: 30m1h\n    open: ["22/tcp"]\n'), /doors\.d\.timeout.*"30m1h" is not a duration/s);
});
