import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RotatingSequence } from '../../../src/config';
import { KnockEngine, deriveSequence, parseSecret, rotatingSource, stepCounter } from '../../../src/knock';
import { door, isLocal, knock, show } from './knock-fixtures';

interface Vector {
  label: string; secretHex: string; counter: number; length: number; portLow: number; portHigh: number;
  protocols: ('tcp' | 'udp')[]; sequence: string[];
}
const vectors = (JSON.parse(readFileSync(resolve(__dirname, '../../../../test/vectors/rotate.json'), 'utf8')) as { cases: Vector[] }).cases;

for (const v of vectors) {
  test(`deriveSequence vector: ${v.label}`, () => {
    const seq = deriveSequence(new Uint8Array(Buffer.from(v.secretHex, 'hex')), v.counter, v);
    assert.deepEqual(seq.map((s) => `${s.port}:${s.proto}`), v.sequence);
  });
}

const SECRET = new Uint8Array(Buffer.from('nftknock rotate test secret 32 b'));
const SPEC = { length: 4, portLow: 10000, portHigh: 60000, protocols: ['tcp', 'udp'] as ('tcp' | 'udp')[], stepSec: 30 };

test('deriveSequence: ports in range, all distinct, even when the range forces redraws', () => {
  const tight = { ...SPEC, portLow: 40000, portHigh: 40007, length: 8 };
  for (let c = 0; c < 500; c++) {
    for (const spec of [SPEC, tight]) {
      const seq = deriveSequence(SECRET, c, spec);
      assert.equal(seq.length, spec.length);
      assert.equal(new Set(seq.map((s) => s.port)).size, spec.length);
      assert.ok(seq.every((s) => s.port >= spec.portLow && s.port <= spec.portHigh && spec.protocols.includes(s.proto)));
    }
  }
  assert.notDeepEqual(deriveSequence(SECRET, 1, SPEC), deriveSequence(SECRET, 2, SPEC));
});

test('deriveSequence: impossible parameters are a programming error', () => {
  assert.throws(() => deriveSequence(SECRET, -1, SPEC), RangeError);
  assert.throws(() => deriveSequence(SECRET, 0, { ...SPEC, portLow: 100, portHigh: 102 }), RangeError);
});

test('stepCounter: whole steps since the epoch', () => {
  assert.equal(stepCounter(0, 30), 0);
  assert.equal(stepCounter(29_999, 30), 0);
  assert.equal(stepCounter(30_000, 30), 1);
  assert.equal(stepCounter(1_700_000_000_000, 30), 56_666_666);
});

const SECRET_CASES: { label: string; input: string | Uint8Array; want: string | { reason: string } }[] = [
  { label: 'base64 with a trailing newline', input: `base64:${Buffer.alloc(16, 7).toString('base64')}\n`, want: '07'.repeat(16) },
  { label: 'raw bytes taken as they are', input: new Uint8Array(20).fill(0xfe), want: 'fe'.repeat(20) },
  { label: 'raw text of 16 bytes', input: 'abcdefghijklmnop', want: Buffer.from('abcdefghijklmnop').toString('hex') },
  { label: 'base64 that decodes short', input: `base64:${Buffer.alloc(15).toString('base64')}`, want: { reason: 'short-secret' } },
  { label: 'base64 with bad characters', input: 'base64:%%%%AAAAAAAAAAAAAAAAAAAAAAAA', want: { reason: 'bad-secret' } },
  { label: 'raw too short', input: 'short', want: { reason: 'short-secret' } },
];
for (const c of SECRET_CASES) {
  test(`parseSecret: ${c.label}`, () => {
    const r = parseSecret(c.input);
    if (typeof c.want === 'string') assert.deepEqual(r.ok && Buffer.from(r.value).toString('hex'), c.want);
    else assert.equal(!r.ok && r.reason, c.want.reason);
  });
}

function rotDoor(): ReturnType<typeof door> {
  const sequence: RotatingSequence = { type: 'rotate', secretFile: '/etc/knockctl/rot.key', ...SPEC };
  return door('rot', ['1'], { sequence, tcpFlags: { set: 0, unset: 0 } });
}

function knockAll(e: KnockEngine, src: string, steps: readonly { port: number; proto: string }[], at: number, now: number): string[] {
  return steps.flatMap((s, i) => e.onKnock(knock(src, `${s.port}:${s.proto}`, { at: at + i }), now + i)).map(show);
}

test('rotating door: the current and the previous step are accepted, older ones are not', () => {
  const at = 1_700_000_010_000;
  const c = stepCounter(at, SPEC.stepSec);
  const mk = (): KnockEngine => new KnockEngine([rotDoor()], { maxSources: 10, isLocal, sources: new Map([['rot', rotatingSource(SECRET, SPEC)]]) });
  for (const [label, counter, ok] of [['current', c, true], ['previous', c - 1, true], ['two back', c - 2, false], ['next', c + 1, false]] as const) {
    const seq = deriveSequence(SECRET, counter, SPEC);
    const out = knockAll(mk(), '198.51.100.7', seq, at, 0);
    assert.equal(out.some((o) => o.startsWith('success rot')), ok, `${label}: ${out.join('; ')}`);
  }
});

test('rotating door: an attempt may straddle a step boundary; a guess in the range breaks it', () => {
  const src = rotatingSource(SECRET, SPEC);
  const e = new KnockEngine([rotDoor()], { maxSources: 10, isLocal, sources: new Map([['rot', src]]) });
  const boundary = (stepCounter(1_700_000_000_000, 30) + 1) * 30_000;
  const seq = deriveSequence(SECRET, stepCounter(boundary - 1, 30), SPEC);
  const first = seq.slice(0, 2).flatMap((s, i) => e.onKnock(knock('198.51.100.7', `${s.port}:${s.proto}`, { at: boundary - 2 + i }), i));
  const rest = seq.slice(2).flatMap((s, i) => e.onKnock(knock('198.51.100.7', `${s.port}:${s.proto}`, { at: boundary + i }), 10 + i));
  assert.deepEqual([...first, ...rest].map((o) => o.type), ['stage', 'stage', 'stage', 'success']);
  const guess = seq[0]!.port === 10000 ? 10001 : 10000;
  e.onKnock(knock('203.0.113.9', `${seq[0]!.port}:${seq[0]!.proto}`, { at: boundary }), 20);
  assert.deepEqual(e.onKnock(knock('203.0.113.9', `${guess}:tcp`, { at: boundary }), 21).map(show), ['reset rot 203.0.113.9 wrong-knock at 1']);
});
