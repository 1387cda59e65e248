import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRestoreBatch, grantsToCarry } from '../../../src/nft';

test('a saved table becomes add commands after add/delete table, without handles, elements with their remaining time', () => {
  const listing = { nftables: [
    { metainfo: { version: '1.0.6' } },
    { table: { family: 'inet', name: 'kt', handle: 7 } },
    { set: { family: 'inet', name: 'allowed4', table: 'kt', handle: 2, type: ['ipv4_addr', 'inet_proto', 'inet_service'], flags: ['timeout'],
      elem: [{ elem: { val: { concat: ['10.0.0.5', 'tcp', 22] }, timeout: 3600, expires: 1234, comment: 'manual' } }, { concat: ['10.0.0.6', 'udp', 53] }] } },
    { chain: { family: 'inet', table: 'kt', name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'drop' } },
    { rule: { family: 'inet', table: 'kt', chain: 'input', handle: 4, expr: [{ accept: null }] } },
    { table: { family: 'ip', name: 'other', handle: 9 } },
    { chain: { family: 'ip', table: 'other', name: 'c', handle: 1 } },
  ] };
  const b = buildRestoreBatch('kt', listing);
  assert.deepEqual(b.nftables, [
    { add: { table: { family: 'inet', name: 'kt' } } },
    { delete: { table: { family: 'inet', name: 'kt' } } },
    { add: { table: { family: 'inet', name: 'kt' } } },
    { add: { set: { family: 'inet', name: 'allowed4', table: 'kt', type: ['ipv4_addr', 'inet_proto', 'inet_service'], flags: ['timeout'],
      elem: [{ elem: { val: { concat: ['10.0.0.5', 'tcp', 22] }, timeout: 1234, comment: 'manual' } }, { concat: ['10.0.0.6', 'udp', 53] }] } } },
    { add: { chain: { family: 'inet', table: 'kt', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'drop' } } },
    { add: { rule: { family: 'inet', table: 'kt', chain: 'input', expr: [{ accept: null }] } } },
  ]);
});

test('no saved table: the batch only removes ours', () => {
  assert.deepEqual(buildRestoreBatch('kt', undefined).nftables, [
    { add: { table: { family: 'inet', name: 'kt' } } },
    { delete: { table: { family: 'inet', name: 'kt' } } },
  ]);
});

const set = (name: string, type: unknown, elem?: unknown[]) => ({ set: { family: 'inet', table: 'kt', name, type, flags: ['timeout'], ...(elem ? { elem } : {}) } });
const G4 = ['ipv4_addr', 'inet_proto', 'inet_service'];
const el = (addr: string, port: number, expires: number, comment: string) => ({ elem: { val: { concat: [addr, 'tcp', port] }, timeout: 3600, expires, comment } });

test('grants made while a rollback was pending are carried over; stage sets and sets the old table lacks are not', () => {
  const saved = { nftables: [
    { table: { family: 'inet', name: 'kt' } },
    set('allowed4', G4, [el('10.0.0.5', 22, 1000, 'manual'), el('10.0.0.9', 22, 50, 'ssh')]),
    set('allowed6', ['ipv6_addr', 'inet_proto', 'inet_service']),
    set('kd_stage1_4', 'ipv4_addr'),
  ] };
  const current = { nftables: [
    { table: { family: 'inet', name: 'kt' } },
    set('allowed4', G4, [el('10.0.0.9', 22, 3500, 'anti-lockout'), el('10.0.0.7', 22, 25, 'ssh')]),
    set('allowed6', ['ipv6_addr', 'inet_proto', 'inet_service']),
    set('kd_stage1_4', 'ipv4_addr', ['10.0.0.3']),
    set('newdoor4', G4, [el('10.0.0.8', 80, 10, 'web')]),
    { set: { family: 'inet', table: 'zz', name: 'allowed4', type: G4, elem: [el('192.0.2.1', 1, 1, 'another table')] } },
  ] };
  const carry = grantsToCarry('kt', saved, current);
  assert.deepEqual(carry.map((c) => [c.name, c.elem.length]), [['allowed4', 2]]);
  const b = buildRestoreBatch('kt', saved, carry);
  const restoredSet = (b.nftables[3] as { add: { set: { elem: unknown[] } } }).add.set;
  assert.deepEqual(restoredSet.elem, [{ elem: { val: { concat: ['10.0.0.5', 'tcp', 22] }, timeout: 1000, comment: 'manual' } }], 'the saved element that is carried is replaced, not doubled');
  assert.deepEqual(b.nftables.at(-1), { add: { element: { family: 'inet', table: 'kt', name: 'allowed4', elem: [
    { elem: { val: { concat: ['10.0.0.9', 'tcp', 22] }, timeout: 3500, comment: 'anti-lockout' } },
    { elem: { val: { concat: ['10.0.0.7', 'tcp', 22] }, timeout: 25, comment: 'ssh' } },
  ] } } });
  assert.deepEqual(grantsToCarry('kt', undefined, current), [], 'no saved table: nothing to restore into');
  assert.deepEqual(grantsToCarry('kt', saved, undefined), []);
});
