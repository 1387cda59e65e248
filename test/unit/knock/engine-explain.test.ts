/** The engine's reasons as data (debug, like knockd -D): each way a knock can do nothing, labelled. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KnockEvent } from '../../../src/core';
import { KnockEngine, OneTimeSource, consumedKey, parseOneTimeSequences, deriveSequence, rotatingSource, stepCounter } from '../../../src/knock';
import type { KnockDoor } from '../../../src/config';
import { ACK, SYN, door, isLocal, knock, show } from './knock-fixtures';

const A = '198.51.100.7';
const SSH = door('ssh', ['7000', '8000', '9000:udp'], { from: ['198.51.100.0/24'] });
const ETH = door('lan', ['6000', '6001'], { interfaces: ['eth1'] });

function run(doors: KnockDoor[], evs: KnockEvent[], explain = true, sources?: Map<string, OneTimeSource | ReturnType<typeof rotatingSource>>): string[] {
  const e = new KnockEngine(doors, { maxSources: 100, isLocal, explain, ...(sources ? { sources } : {}) });
  return evs.flatMap((ev, i) => e.onKnock(ev, i * 10)).map(show);
}

const cases: { label: string; doors: KnockDoor[]; evs: KnockEvent[]; want: string[] }[] = [
  { label: 'wrong port: no door knocks there', doors: [SSH], evs: [knock(A, '7001')], want: [`ignored - ${A} not-a-knock 7001/tcp`] },
  { label: 'not the first knock, no attempt', doors: [SSH], evs: [knock(A, '8000')], want: [`ignored ssh ${A} not-first 8000/tcp`] },
  { label: 'wrong TCP flags on a first knock', doors: [SSH], evs: [knock(A, '7000', { flags: SYN | ACK })], want: [`ignored ssh ${A} tcp-flags 7000/tcp`] },
  { label: 'source outside from', doors: [SSH], evs: [knock('203.0.113.9', '7000')], want: ['ignored ssh 203.0.113.9 from 7000/tcp'] },
  { label: 'to another host: target', doors: [SSH], evs: [knock(A, '7000', { dst: '192.0.2.99' })], want: [`ignored ssh ${A} target 7000/tcp`] },
  { label: 'another interface', doors: [ETH], evs: [knock(A, '6000', { ifname: 'eth0' })], want: [`ignored lan ${A} interface 6000/tcp`] },
  {
    label: 'a SYN retransmit mid-sequence', doors: [SSH], evs: [knock(A, '7000'), knock(A, '7000')],
    want: [`stage ssh ${A} 1/3`, `ignored ssh ${A} repeated 7000/tcp`],
  },
  {
    label: 'wrong flags mid-sequence: ignored, the attempt goes on', doors: [SSH], evs: [knock(A, '7000'), knock(A, '8000', { flags: SYN | ACK }), knock(A, '8000')],
    want: [`stage ssh ${A} 1/3`, `ignored ssh ${A} tcp-flags 8000/tcp`, `stage ssh ${A} 2/3`],
  },
];

for (const c of cases) {
  test(`explain: ${c.label}`, () => {
    assert.deepEqual(run(c.doors, c.evs), c.want);
    // Without explain the same packets report only what changed an attempt.
    assert.deepEqual(run(c.doors, c.evs, false), c.want.filter((w) => !w.startsWith('ignored')));
  });
}

test('explain: the start of a used one-time sequence', () => {
  const otDoor = door('once', ['1'], { oneTimeFile: '/x', tcpFlags: { set: 0, unset: 0 } });
  const { sequences } = parseOneTimeSequences('2222,3333\n4444,5555\n');
  const src = new OneTimeSource('once', sequences, new Set([consumedKey(sequences[0]!.steps)]));
  assert.deepEqual(run([otDoor], [knock(A, '2222')], true, new Map([['once', src]])), [`ignored once ${A} used-one-time 2222/tcp starts a sequence used already (line 1)`]);
  assert.deepEqual(run([otDoor], [knock(A, '3333')], true, new Map([['once', src]])), [`ignored once ${A} not-first 3333/tcp`]);
});

test('explain: a rotating door knocked with an old step\'s sequence', () => {
  const spec = { length: 3, stepSec: 30, portLow: 20000, portHigh: 30000, protocols: ['tcp' as const] };
  const rot = door('rot', ['1'], { sequence: { type: 'rotate', secretFile: '/s', ...spec } });
  const secret = new Uint8Array(32).fill(5);
  const at = 1_700_000_000_000;
  const old = deriveSequence(secret, stepCounter(at, 30) - 3, spec)[0]!;
  const out = run([rot], [knock(A, `${old.port}`, { at })], true, new Map([['rot', rotatingSource(secret, { ...spec })]]));
  assert.equal(out.length, 1);
  assert.match(out[0]!, new RegExp(`^ignored rot ${A} rotation-step ${old.port}/tcp starts the sequence of a step 3 steps old`));
});

test('without explain, a packet that is no knock gets the one shared empty answer (nothing allocated)', () => {
  const e = new KnockEngine([SSH], { maxSources: 10, isLocal });
  const a = e.onKnock(knock(A, '1234'), 0);
  const b = e.onKnock(knock(A, '4321:udp'), 1);
  assert.equal(a.length, 0);
  assert.equal(a, b, 'the same frozen array');
});
