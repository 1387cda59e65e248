import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../../src/config';
import { buildGrantBatch, buildRevokeBatch, buildRuleset, buildUninstall, parseAccessEntries, guardedServices, SetLayout } from '../../../src/nft';
import type { AccessEntry } from '../../../src/core';

const cfg = (text: string) => loadConfigText(text).config;
const DROP = cfg('table: kt\nbase: { allow: ["80/tcp"], allow_from: ["192.0.2.0/24"] }\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp", "2222/tcp"] }\n');

const SHARED = new SetLayout([]);
type Cmd = Record<string, Record<string, Record<string, unknown>>>;
const verbs = (b: { nftables: readonly unknown[] }) => (b.nftables as Cmd[]).map((c) => `${Object.keys(c)[0]} ${Object.keys(Object.values(c)[0]!)[0]}`);

test('the ruleset replaces only our table, atomically: add, delete, add, then contents', () => {
  const b = buildRuleset(DROP);
  const v = verbs(b);
  assert.deepEqual(v.slice(0, 3), ['add table', 'delete table', 'add table']);
  for (const c of b.nftables as Cmd[]) {
    const obj = Object.values(Object.values(c)[0]!)[0] as { family: string; table?: string; name?: string };
    assert.equal(obj.family, 'inet');
    assert.equal(obj.table ?? obj.name, 'kt');
  }
  const sets = (b.nftables as Cmd[]).filter((c) => c.add?.set).map((c) => c.add!.set as { name: string; flags: string[] });
  assert.deepEqual(sets.map((s) => [s.name, s.flags.join(',')]), [
    ['allowed4', 'timeout'], ['allowed6', 'timeout'], ['allowednet4', 'interval,timeout'], ['allowednet6', 'interval,timeout'],
    ['in4_ssh', 'timeout'], ['in6_ssh', 'timeout'],
  ]);
  const chains = (b.nftables as Cmd[]).filter((c) => c.add?.chain).map((c) => c.add!.chain as { name: string; policy?: string; hook?: string });
  assert.deepEqual(chains[0], { family: 'inet', table: 'kt', name: 'managed_by_knockctl' }, 'the marker: an empty regular chain, first after the table');
  const chain = chains.find((c) => c.name === 'input')!;
  assert.equal(chain.policy, 'drop');
  assert.equal(chain.hook, 'input');
});

test('drop policy: established first, ND before invalid-drop, allow-list, then the set lookups', () => {
  const rules = (buildRuleset(DROP).nftables as Cmd[]).filter((c) => c.add?.rule).map((c) => JSON.stringify(c.add!.rule!.expr));
  const idx = (needle: string) => rules.findIndex((r) => r.includes(needle));
  assert.equal(idx('established'), 0);
  assert.ok(idx('nd-neighbor-solicit') < idx('"invalid"'));
  assert.ok(idx('"lo"') > idx('"invalid"'));
  assert.ok(idx('echo-request') > 0, 'icmp: true answers ping');
  assert.ok(idx('"192.0.2.0"') > 0, 'allow_from');
  assert.ok(idx('[{"concat":["tcp",80]}]') > 0, 'base.allow');
  assert.deepEqual(rules.slice(-6).map((r) => /@(\w+)/.exec(r)?.[1]), ['allowed4', 'allowed6', 'allowednet4', 'allowednet6', 'in4_ssh', 'in6_ssh']);
  const noPing = (buildRuleset(cfg('base: { icmp: false }')).nftables as Cmd[]).map((c) => JSON.stringify(c));
  assert.ok(!noPing.some((r) => r.includes('echo-request')));
});

test('guard policy: accept policy, no accept-all rules, drops only the doors\' open ports', () => {
  const g = cfg('table: kt\nbase: { policy: guard }\ndoors:\n  a: { sequence: ["1"], open: ["22/tcp"] }\n  b: { sequence: ["2"], open: ["22/tcp", "53/udp"] }\n');
  assert.deepEqual(guardedServices(g), [{ port: 22, proto: 'tcp' }, { port: 53, proto: 'udp' }]);
  const cmds = buildRuleset(g).nftables as Cmd[];
  assert.equal((cmds.find((c) => c.add?.chain?.name === 'input')!.add!.chain as { policy: string }).policy, 'accept');
  const last = JSON.stringify(cmds[cmds.length - 1]);
  assert.match(last, /"drop":null/);
  assert.match(last, /\{"concat":\["tcp",22\]\},\{"concat":\["udp",53\]\}/);
  assert.ok(!cmds.some((c) => JSON.stringify(c).includes('echo-request')), 'guard mode adds no ICMP accepts');
});

test('grant batch refreshes: add, delete, add-with-timeout per element, deduplicated, prefix grants in the net sets', () => {
  const b = buildGrantBatch('kt', SHARED, [
    { door: 'ssh', family: 4, addr: '10.0.0.2', services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 30 },
    { door: 'ssh', family: 4, addr: '10.0.0.2', services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 60 },
    { door: 'spa', family: 6, addr: '2001:db8::77/64', services: [{ kind: 'local', port: 443, proto: 'tcp' }], timeoutSec: 10 },
  ]);
  assert.deepEqual(verbs(b), ['add element', 'delete element', 'add element', 'add element', 'delete element', 'add element']);
  const els = (b.nftables as Cmd[]).map((c) => Object.values(c)[0]!.element as { name: string; elem: unknown[] });
  assert.equal(els[0]!.name, 'allowed4');
  assert.deepEqual(els[0]!.elem, [{ concat: ['10.0.0.2', 'tcp', 22] }]);
  assert.deepEqual(els[2]!.elem, [{ elem: { val: { concat: ['10.0.0.2', 'tcp', 22] }, timeout: 60, comment: 'ssh' } }]);
  assert.equal(els[5]!.name, 'allowednet6');
  assert.deepEqual(els[5]!.elem, [{ elem: { val: { concat: [{ prefix: { addr: '2001:db8::', len: 64 } }, 'tcp', 443] }, timeout: 10, comment: 'spa' } }]);
  assert.throws(() => buildGrantBatch('kt', SHARED, [{ door: 'x', family: 4, addr: '10.0.0.2', services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 0 }]), RangeError);
});

test('revoke batch: add then delete (idempotent); without ports it revokes what the kernel holds for that address', () => {
  const current: AccessEntry[] = [
    { family: 4, addr: '10.0.0.2', proto: 'tcp', port: 22, set: 'allowed4' },
    { family: 4, addr: '10.0.0.2', proto: 'udp', port: 53, set: 'allowed4' },
    { family: 4, addr: '10.0.0.3', proto: 'tcp', port: 22, set: 'allowed4' },
  ];
  const b = buildRevokeBatch('kt', SHARED, [{ door: 'close', family: 4, addr: '10.0.0.2' }], current);
  assert.deepEqual(verbs(b), ['add element', 'delete element', 'add element', 'delete element']);
  assert.match(JSON.stringify(b), /"udp",53/);
  assert.doesNotMatch(JSON.stringify(b), /10\.0\.0\.3/);
  assert.deepEqual(buildRevokeBatch('kt', SHARED, [{ door: 'x', family: 4, addr: '10.0.0.9' }], current).nftables, []);
});

test('kept grants are re-added with their remaining time; expired ones are dropped', () => {
  const b = buildRuleset(DROP, { keep: [
    { family: 4, addr: '10.0.0.2', proto: 'tcp', port: 22, door: 'ssh', timeoutSec: 30, expiresSec: 12, set: 'allowed4' },
    { family: 4, addr: '10.0.0.3', proto: 'tcp', port: 22, door: 'ssh', timeoutSec: 30, expiresSec: 0, set: 'allowed4' },
  ] });
  const adds = (b.nftables as Cmd[]).filter((c) => c.add?.element).map((c) => c.add!.element!.elem);
  assert.deepEqual(adds, [[{ elem: { val: { concat: ['10.0.0.2', 'tcp', 22] }, timeout: 12, comment: 'ssh' } }]]);
});

test('nft -j list output parses into access entries (wrapped and bare elements, prefixes)', () => {
  const json = { nftables: [
    { metainfo: { version: '1.0.6' } },
    { set: { family: 'inet', name: 'allowed4', table: 'kt', elem: [
      { elem: { val: { concat: ['10.0.0.1', 'tcp', 22] }, timeout: 30, expires: 29, comment: 'ssh' } },
      { concat: ['10.0.0.5', 'udp', 53] },
    ] } },
    { set: { family: 'inet', name: 'allowednet6', table: 'kt', elem: [
      { elem: { val: { concat: [{ prefix: { addr: '2001:db8::', len: 64 } }, 'tcp', 22] }, timeout: 60, expires: 3 } },
    ] } },
    { set: { family: 'inet', name: 'stage1', table: 'kt', elem: ['10.0.0.9'] } },
    { set: { family: 'inet', name: 'allowed6', table: 'kt', elem: [{ concat: ['::1', 'icmp', 0] }, 'garbage', null] } },
  ] };
  assert.deepEqual(parseAccessEntries(json), [
    { family: 4, addr: '10.0.0.1', proto: 'tcp', port: 22, set: 'allowed4', door: 'ssh', timeoutSec: 30, expiresSec: 29 },
    { family: 4, addr: '10.0.0.5', proto: 'udp', port: 53, set: 'allowed4' },
    { family: 6, addr: '2001:db8::/64', proto: 'tcp', port: 22, set: 'allowednet6', timeoutSec: 60, expiresSec: 3 },
  ]);
  assert.deepEqual(parseAccessEntries(undefined), []);
  assert.deepEqual(parseAccessEntries({ nftables: 'x' }), []);
});

test('uninstall batch touches only our table', () => {
  assert.deepEqual(buildUninstall('kt'), { nftables: [{ add: { table: { family: 'inet', name: 'kt' } } }, { delete: { table: { family: 'inet', name: 'kt' } } }] });
});
