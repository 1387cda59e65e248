import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnockEngine, OneTimeSource, consumedKey, formatConsumed, parseConsumed, parseOneTimeSequences } from '../../../src/knock';
import { door, isLocal, knock, show, steps } from './knock-fixtures';

const FILE = [
  '# one-time sequences for door ssh',
  '2222:udp,3333:tcp,4444:udp',
  '5555 6666:udp   7777  # spaces work too',
  '#8888,9999,1111   (used by knockd)',
  '',
  '1212, 1313 ,1414:UDP',
].join('\n');

test('parseOneTimeSequences: commas or spaces, default tcp, comments and used lines skipped, line numbers kept', () => {
  const r = parseOneTimeSequences(FILE);
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.sequences.map((s) => [s.line, s.steps.map((x) => `${x.port}:${x.proto}`).join(',')]), [
    [2, '2222:udp,3333:tcp,4444:udp'],
    [3, '5555:tcp,6666:udp,7777:tcp'],
    [6, '1212:tcp,1313:tcp,1414:udp'],
  ]);
});

const BAD: { label: string; text: string; issues: { line: number; message: RegExp }[]; valid: number }[] = [
  { label: 'a port out of range', text: '1000,70000:tcp\n2000,3000', issues: [{ line: 1, message: /^knock 2 is not PORT\[:PROTO\] with PORT 1-65535/ }], valid: 1 },
  { label: 'an unknown protocol', text: '\n\n1000:icmp 2000', issues: [{ line: 3, message: /^knock 1 is not PORT\[:PROTO\]/ }], valid: 0 },
  { label: 'the same sequence twice (also when spelled differently)', text: '1000,2000:udp\n1000:tcp 2000:udp', issues: [{ line: 2, message: /same sequence as line 1/ }], valid: 1 },
];
for (const c of BAD) {
  test(`parseOneTimeSequences rejects ${c.label}`, () => {
    const r = parseOneTimeSequences(c.text);
    assert.equal(r.issues.length, c.issues.length);
    c.issues.forEach((want, i) => {
      assert.equal(r.issues[i]?.line, want.line);
      assert.match(r.issues[i]?.message ?? '', want.message);
    });
    assert.equal(r.sequences.length, c.valid);
    // The file is secret: no message quotes what it holds.
    for (const i of r.issues) assert.doesNotMatch(i.message, /70000|1000|icmp|2000/);
  });
}

test('consumed records: one hex line per use, keyed by the sequence alone (not the door); torn lines skipped', () => {
  const seq = steps(['2222:udp', '3333']);
  const rec = formatConsumed(seq);
  assert.match(rec, /^[0-9a-f]{64}\n$/);
  assert.equal(consumedKey(seq), consumedKey(steps(['2222:udp', '3333:tcp'])), 'spelling does not matter');
  assert.notEqual(consumedKey(seq), consumedKey(steps(['2222:udp', '3333:udp'])));
  // A renamed door reads the same record and finds its used sequence used.
  assert.equal(new OneTimeSource('renamed', [{ line: 1, steps: seq }], parseConsumed(rec).keys).remaining, 0);
  const other = formatConsumed(steps(['1', '2']));
  const r = parseConsumed(rec + other + other.slice(0, 20));
  assert.deepEqual([...r.keys].sort(), [rec.trim(), other.trim()].sort());
  assert.equal(r.skipped, 1);
});

const SRC = '198.51.100.7';
const otDoor = door('ssh', ['1'], { oneTimeFile: '/etc/knockctl/ssh.once', tcpFlags: { set: 0, unset: 0 } });

function knockSeq(e: KnockEngine, seq: string[], now: number): string[] {
  return seq.flatMap((s, i) => e.onKnock(knock(SRC, s), now + i)).map(show);
}

test('one-time door: each sequence is valid once, also across a restart', () => {
  const { sequences } = parseOneTimeSequences(FILE);
  const source = new OneTimeSource('ssh', sequences, new Set());
  const e = new KnockEngine([otDoor], { maxSources: 10, isLocal, sources: new Map([['ssh', source]]) });
  const first = ['2222:udp', '3333:tcp', '4444:udp'];
  assert.deepEqual(knockSeq(e, first, 0).at(-1), `success ssh ${SRC} grant 2222:udp,3333:tcp,4444:udp`);
  assert.equal(source.remaining, 2);
  assert.deepEqual(knockSeq(e, first, 100), []);
  assert.deepEqual(knockSeq(e, ['5555', '6666:udp', '7777'], 200).at(-1), `success ssh ${SRC} grant 5555:tcp,6666:udp,7777:tcp`);
  // The daemon appended these records; after a restart they are read back.
  const stored = formatConsumed(steps(first)) + formatConsumed(steps(['5555', '6666:udp', '7777']));
  const again = new OneTimeSource('ssh', sequences, parseConsumed(stored).keys);
  assert.equal(again.remaining, 1);
  const e2 = new KnockEngine([otDoor], { maxSources: 10, isLocal, sources: new Map([['ssh', again]]) });
  assert.deepEqual(knockSeq(e2, first, 0), []);
  assert.deepEqual(knockSeq(e2, ['1212', '1313', '1414:udp'], 10).map((o) => o.split(' ')[0]), ['stage', 'stage', 'success']);
  assert.equal(again.remaining, 0);
});

test('one-time door: a knock of a used line breaks an attempt at another line', () => {
  const { sequences } = parseOneTimeSequences(FILE);
  const key = consumedKey(sequences[0]!.steps);
  const e = new KnockEngine([otDoor], { maxSources: 10, isLocal, sources: new Map([['ssh', new OneTimeSource('ssh', sequences, new Set([key]))]]) });
  assert.deepEqual(knockSeq(e, ['5555', '3333'], 0), [`stage ssh ${SRC} 1/3`, `reset ssh ${SRC} wrong-knock at 1`]);
});
