import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KnockEvent } from '../../../src/core';
import type { Config, KnockDoor, SpaDoor } from '../../../src/config';
import { KnockEngine } from '../../../src/knock';
import { ACK, SYN, door, isLocal, knock, show, type KnockOpts } from './knock-fixtures';

type Step = { t: number; ev: KnockEvent } | { t: number; expire: true };
const k = (t: number, src: string, step: string, o?: KnockOpts): Step => ({ t, ev: knock(src, step, o) });
const x = (t: number): Step => ({ t, expire: true });

interface Case {
  label: string;
  doors: KnockDoor[];
  script: Step[];
  want: string[];
  /** Partial attempts left at the end. */
  size: number;
}

const A = '198.51.100.7';
const B = '203.0.113.9';
const SSH = door('ssh', ['7000', '8000', '9000:udp']);

function run(c: { doors: KnockDoor[]; script: Step[] }, maxSources = 100): { out: string[]; engine: KnockEngine } {
  const engine = new KnockEngine(c.doors, { maxSources, isLocal });
  const out = c.script.flatMap((s) => ('ev' in s ? engine.onKnock(s.ev, s.t) : engine.expire(s.t))).map(show);
  return { out, engine };
}

const cases: Case[] = [
  {
    label: 'correct sequence', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(100, A, '8000'), k(200, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'wrong order: a later step first starts nothing, a skipped step resets', doors: [SSH], size: 0,
    script: [k(0, A, '8000'), k(100, A, '7000'), k(200, A, '9000:udp'), k(300, A, '8000')],
    want: [`stage ssh ${A} 1/3`, `reset ssh ${A} wrong-knock at 1`],
  },
  {
    label: 'late knock: the whole sequence must fit in seq_timeout from the first knock', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(9000, A, '8000'), k(10_000, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `reset ssh ${A} timeout at 2`],
  },
  {
    label: 'last knock 1 ms before the deadline still counts', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(9000, A, '8000'), k(9999, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'late first step: the old attempt times out, a new one starts', doors: [SSH], size: 1,
    script: [k(0, A, '7000'), k(12_000, A, '7000')],
    want: [`stage ssh ${A} 1/3`, `reset ssh ${A} timeout at 1`, `stage ssh ${A} 1/3`],
  },
  {
    label: 'expiry via expire() without traffic', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), x(9999), x(10_000), x(20_000)],
    want: [`stage ssh ${A} 1/3`, `reset ssh ${A} timeout at 1`],
  },
  {
    label: 'wrong knock mid-sequence resets', doors: [door('four', ['7000', '8000', '9000:udp', '6000'])], size: 0,
    script: [k(0, A, '7000'), k(100, A, '8000'), k(200, A, '6000'), k(300, A, '9000:udp'), k(400, A, '6000')],
    want: [`stage four ${A} 1/4`, `stage four ${A} 2/4`, `reset four ${A} wrong-knock at 2`],
  },
  {
    label: 'a knock port of the door out of turn resets; a port that is no knock at all does not',
    doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(50, A, '22'), k(60, A, '443'), k(100, A, '8000'), k(200, A, '8000:tcp', { flags: SYN }), k(300, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'restart: a wrong knock that is the first step starts again at stage 1', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(100, A, '8000'), k(200, A, '7000'), k(300, A, '8000'), k(400, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `reset ssh ${A} restarted at 2`, `stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`,
      `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'SYN retransmit of the last accepted knock is ignored', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(1000, A, '7000'), k(1100, A, '8000'), k(2100, A, '8000'), k(3100, A, '8000'), k(3200, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'tcpflags: a TCP knock with other flags is ignored by the door (no start, no reset)', doors: [SSH], size: 0,
    script: [k(0, A, '7000', { flags: SYN | ACK }), k(10, A, '7000'), k(20, A, '9000:tcp', { flags: ACK }), k(30, A, '8000', { flags: ACK }),
      k(40, A, '8000', { flags: SYN | ACK }), k(50, A, '8000'), k(60, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'UDP and TCP mix on one port: 7000:udp after 7000:tcp is the next step, not a retransmit',
    doors: [door('mix', ['7000:tcp', '7000:udp', '8000:udp'])], size: 0,
    script: [k(0, A, '7000:tcp'), k(10, A, '7000:tcp'), k(20, A, '7000:udp'), k(30, A, '7000:udp'), k(40, A, '8000:udp')],
    want: [`stage mix ${A} 1/3`, `stage mix ${A} 2/3`, `success mix ${A} grant 7000:tcp,7000:udp,8000:udp`],
  },
  {
    label: 'a repeated port counts as the next step first, then as a retransmit',
    doors: [door('rep', ['7000', '7000', '8000'])], size: 0,
    script: [k(0, A, '7000'), k(1000, A, '7000'), k(2000, A, '7000'), k(2100, A, '8000')],
    want: [`stage rep ${A} 1/3`, `stage rep ${A} 2/3`, `success rep ${A} grant 7000:tcp,7000:tcp,8000:tcp`],
  },
  {
    label: 'IPv6 source', doors: [SSH], size: 0,
    script: [k(0, '2001:db8:5::7', '7000'), k(1, '2001:db8:5::7', '8000'), k(2, '2001:db8:5::7', '9000:udp')],
    want: ['stage ssh 2001:db8:5::7 1/3', 'stage ssh 2001:db8:5::7 2/3', 'success ssh 2001:db8:5::7 grant 7000:tcp,8000:tcp,9000:udp'],
  },
  {
    label: 'interleaved sources keep their own state', doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(1, B, '7000'), k(2, A, '8000'), k(3, B, '9000:udp'), k(4, '2001:db8::9', '7000'), k(5, A, '9000:udp'), x(20_000)],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${B} 1/3`, `stage ssh ${A} 2/3`, `reset ssh ${B} wrong-knock at 1`, 'stage ssh 2001:db8::9 1/3',
      `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`, 'reset ssh 2001:db8::9 timeout at 1'],
  },
  {
    label: 'from: only listed networks may knock (an IPv6 source never matches an IPv4 network)',
    doors: [door('lan', ['7000', '8000'], { from: ['198.51.100.0/24'] })], size: 0,
    script: [k(0, B, '7000'), k(1, B, '8000'), k(2, '2001:db8::9', '7000'), k(3, A, '7000'), k(4, B, '7000'), k(5, A, '8000')],
    want: [`stage lan ${A} 1/2`, `success lan ${A} grant 7000:tcp,8000:tcp`],
  },
  {
    label: 'interfaces: knocks count only on listed interfaces; an unknown interface does not match',
    doors: [door('wan', ['7000', '8000'], { interfaces: ['eth0'] })], size: 0,
    script: [k(0, A, '7000', { ifname: 'eth1' }), k(1, A, '7000'), k(2, A, '7000', { ifname: 'eth0' }), k(3, A, '7000', { ifname: 'eth1' }),
      k(4, A, '8000', { ifname: 'eth1' }), k(5, A, '8000', { ifname: 'eth0' })],
    want: [`stage wan ${A} 1/2`, `success wan ${A} grant 7000:tcp,8000:tcp`],
  },
  {
    label: 'isLocal: knocks to other hosts (routed traffic) do not count, nor break',
    doors: [SSH], size: 0,
    script: [k(0, A, '7000'), k(1, A, '9000:udp', { dst: '192.0.2.99' }), k(2, A, '8000'), k(3, A, '9000:udp')],
    want: [`stage ssh ${A} 1/3`, `stage ssh ${A} 2/3`, `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'target: a door for a routed host counts knocks to its addresses only',
    doors: [door('nas', ['7000', '8000'], { target: ['10.9.0.0/24'] })], size: 0,
    script: [k(0, A, '7000'), k(1, A, '7000', { dst: '10.9.0.5' }), k(2, A, '8000'), k(3, A, '8000', { dst: '10.9.0.5' })],
    want: [`stage nas ${A} 1/2`, `success nas ${A} grant 7000:tcp,8000:tcp`],
  },
  {
    label: 'revoke door reports success with its action; the daemon revokes',
    doors: [SSH, door('close', ['9100', '9200'], { action: 'revoke' })], size: 0,
    script: [k(0, A, '9100'), k(1, A, '9200')],
    want: [`stage close ${A} 1/2`, `success close ${A} revoke 9100:tcp,9200:tcp`],
  },
  {
    label: 'two doors sharing a first step: both start, the second knock decides',
    doors: [SSH, door('web', ['7000', '8001', '9001'])], size: 0,
    script: [k(0, A, '7000'), k(1, A, '8000'), k(2, A, '9000:udp')],
    // One packet's outcomes: existing attempts newest first, then new attempts in door order.
    want: [`stage ssh ${A} 1/3`, `stage web ${A} 1/3`, `reset web ${A} wrong-knock at 1`, `stage ssh ${A} 2/3`,
      `success ssh ${A} grant 7000:tcp,8000:tcp,9000:udp`],
  },
  {
    label: 'a knock of another door breaks an attempt at this door', doors: [SSH, door('web', ['7100', '8100'])], size: 1,
    script: [k(0, A, '7000'), k(1, A, '7100')],
    want: [`stage ssh ${A} 1/3`, `reset ssh ${A} wrong-knock at 1`, `stage web ${A} 1/2`],
  },
  {
    label: 'a one-knock sequence succeeds at once and holds no state', doors: [door('one', ['7777:udp'])], size: 0,
    script: [k(0, A, '7777:udp')],
    want: [`success one ${A} grant 7777:udp`],
  },
  {
    label: 'kernel-mode doors are not the daemon\'s', doors: [door('k', ['7000', '8000'], { mode: 'kernel' })], size: 0,
    script: [k(0, A, '7000'), k(1, A, '8000')],
    want: [],
  },
];

for (const c of cases) {
  test(`engine: ${c.label}`, () => {
    const { out, engine } = run(c);
    assert.deepEqual(out, c.want);
    assert.equal(engine.size, c.size);
  });
}

test('nextDeadline follows the oldest attempt of each door and empties with the table', () => {
  const e = new KnockEngine([SSH, door('slow', ['7100', '8100'], { seqTimeoutSec: 30 })], { maxSources: 10, isLocal });
  assert.equal(e.nextDeadline(), undefined);
  e.onKnock(knock(A, '7100'), 1000);
  e.onKnock(knock(B, '7000'), 2000);
  assert.equal(e.nextDeadline(), 12_000);
  assert.deepEqual(e.expire(12_000).map(show), [`reset ssh ${B} timeout at 1`]);
  assert.equal(e.nextDeadline(), 31_000);
  assert.deepEqual(e.expire(31_000).map(show), [`reset slow ${A} timeout at 1`]);
  assert.equal(e.nextDeadline(), undefined);
  assert.equal(e.counters().timeouts, 2);
});

test('a clock that goes backwards is taken as standing still', () => {
  const e = new KnockEngine([SSH], { maxSources: 10, isLocal });
  e.onKnock(knock(A, '7000'), 5000);
  assert.deepEqual(e.onKnock(knock(A, '8000'), 1000).map(show), [`stage ssh ${A} 2/3`]);
  assert.equal(e.nextDeadline(), 15_000);
});

test('a bad maxSources or a dynamic door without its source is a programming error', () => {
  assert.throws(() => new KnockEngine([SSH], { maxSources: 0, isLocal }), RangeError);
  assert.throws(() => new KnockEngine([door('ot', ['1', '2'], { oneTimeFile: '/x' })], { maxSources: 1, isLocal }), /needs a sequence source/);
});

test('fromConfig takes maxSources from limits and only the daemon-mode knock doors', () => {
  const spa = { name: 'spa', kind: 'spa', open: [], spa: { port: 62201 } } as unknown as SpaDoor;
  const config = { limits: { maxSources: 1, maxReplay: 10 }, doors: [spa, SSH, door('k', ['7100', '8100'], { mode: 'kernel' })] } as unknown as Config;
  const e = KnockEngine.fromConfig(config, { isLocal });
  assert.deepEqual(e.onKnock(knock(A, '7100'), 0), []);
  assert.deepEqual(e.onKnock(knock(A, '62201:udp'), 0), []);
  e.onKnock(knock(A, '7000'), 0);
  assert.deepEqual(e.onKnock(knock(B, '7000'), 1).map(show), [`reset ssh ${A} evicted at 1`, `stage ssh ${B} 1/3`]);
});
