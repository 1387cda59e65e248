import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRestoreBatch } from '../../../src/nft';

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
