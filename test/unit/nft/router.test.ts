/** Router doors in the pure builders: set layout, forward and nat chains, grant/revoke elements, parsing back. */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { nftCheckSkip, throwawayNetns } from './throwaway-netns';
import { loadConfigText } from '../../../src/config';
import type { AccessEntry, Grant } from '../../../src/core';
import { parseService } from '../../../src/core';
import {
  NoSetError, buildGrantBatch, buildKernelDoors, buildRevokeBatch, buildRuleset, buildSetLayout, parseAccessEntries, parseSetName,
  withoutPortForwardTargets,
} from '../../../src/nft';

const cfg = (text: string) => loadConfigText(text).config;
const ROUTER = cfg(`table: kt
base: { allow_from: ["10.9.0.0/16"] }
doors:
  lan:
    sequence: ["7000", "8000"]
    open: ["22/tcp", "192.168.1.10:22/tcp", "[fd00::10]:22/tcp", "2222/tcp=>192.168.1.10:22"]
    set_size: 1000
  spa:
    spa: { clients: { alice: { key: "base64:${createHash('sha256').update('key 7').digest('base64')}" } }, nat_prefix: { ipv4: 24 } }
    open: ["192.168.1.11:80/tcp"]
  close:
    sequence: ["9000"]
    action: revoke
    open: ["192.168.1.10:22/tcp"]
`);

type Cmd = Record<string, Record<string, Record<string, unknown>>>;
type Rule = { chain: string; expr: unknown[]; comment?: string };
const J = (x: unknown) => JSON.stringify(x);
const svc = (s: string) => {
  const r = parseService(s);
  assert.ok(r.ok, s);
  return r.value;
};

test('layout: each door gets the sets its open list needs, sized by set_size; a close door gets none', () => {
  const l = buildSetLayout(ROUTER);
  assert.deepEqual(l.sets.map((s) => [s.name, s.kind, s.family, s.interval, s.size]), [
    ['allowed4', 'in', 4, false, 65536], ['allowed6', 'in', 6, false, 65536], ['allowednet4', 'in', 4, true, 65536], ['allowednet6', 'in', 6, true, 65536],
    ['forward4', 'fwd', 4, true, 65536], ['forward6', 'fwd', 6, true, 65536], ['dnat4', 'dnat', 4, true, 65536], ['dnat6', 'dnat', 6, true, 65536],
    ['in4_lan', 'in', 4, false, 1000], ['in6_lan', 'in', 6, false, 1000], ['fwd4_lan', 'fwd', 4, false, 1000], ['fwd6_lan', 'fwd', 6, false, 1000],
    ['dnat4_lan', 'dnat', 4, false, 1000],
    ['fwd4_spa', 'fwd', 4, true, 65536],
  ]);
  assert.equal(l.setFor('lan', 'in', 4, false)?.name, 'in4_lan');
  assert.equal(l.setFor('lan', 'in', 4, true)?.name, 'allowednet4', 'a prefix never goes into a hash set');
  assert.equal(l.setFor('manual', 'fwd', 6, false)?.name, 'forward6');
  assert.equal(l.setFor('spa', 'fwd', 4, true)?.name, 'fwd4_spa');
  assert.equal(buildSetLayout(cfg('doors:\n  d: { sequence: ["1"], open: ["22/tcp"] }\n')).setFor('x', 'fwd', 4, false), undefined, 'no forward sets without router doors');
  assert.deepEqual(parseSetName('fwd6_lan'), { kind: 'fwd', family: 6, door: 'lan' });
  assert.deepEqual(parseSetName('dnat4'), { kind: 'dnat', family: 4, interval: true });
  assert.equal(parseSetName('kd_lan_s1_4'), undefined);
});

test('the forward chain guards only the doors\' forwarded services; the nat chain DNATs granted sources only', () => {
  const cmds = buildRuleset(ROUTER).nftables as Cmd[];
  const chains = cmds.filter((c) => c.add?.chain).map((c) => c.add!.chain as { name: string; hook: string; type: string; prio: number; policy: string });
  assert.deepEqual(chains.map((c) => [c.name, c.type, c.hook, c.prio, c.policy]), [
    ['managed_by_knockctl', undefined, undefined, undefined, undefined],
    ['input', 'filter', 'input', 0, 'drop'], ['forward', 'filter', 'forward', 0, 'accept'], ['prerouting', 'nat', 'prerouting', -100, 'accept'],
  ]);
  const rules = (chain: string) => cmds.filter((c) => (c.add?.rule as Rule | undefined)?.chain === chain).map((c) => c.add!.rule as Rule);
  const fwd = rules('forward').map((r) => J(r.expr));
  assert.match(fwd[0]!, /"established","related".*"accept"/);
  assert.match(fwd[1]!, /"10\.9\.0\.0","len":16.*"accept"/, 'base.allow_from sources are not guarded');
  assert.deepEqual(fwd.slice(2, 7).map((r) => /@(\w+)/.exec(r)?.[1]), ['forward4', 'forward6', 'fwd4_lan', 'fwd6_lan', 'fwd4_spa']);
  const guard4 = fwd.find((r) => r.includes('"drop"') && r.includes('"ip"'))!;
  assert.ok(guard4.includes(J({ concat: ['192.168.1.10', 'tcp', 22] })) && guard4.includes(J({ concat: ['192.168.1.11', 'tcp', 80] })));
  assert.ok(fwd.at(-1)!.includes('"drop"') && fwd.at(-1)!.includes('fd00::10'), 'the IPv6 guard');
  assert.ok(!fwd.some((r) => r.includes('"accept"') && !r.includes('@') && !r.includes('established') && !r.includes('10.9.0.0')), 'no accept of its own');
  assert.ok(!fwd.some((r) => r.includes('"ct"') && !r.includes('established')), 'no conntrack-key rules (they do not survive a JSON round trip)');
  const nat = rules('prerouting');
  assert.deepEqual(nat.map((r) => /@(\w+)/.exec(J(r.expr))?.[1]), ['dnat4', 'dnat4_lan']);
  assert.equal(J(nat[1]!.expr), J([
    { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
    { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
    { match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right: 2222 } },
    { match: { op: '==', left: { concat: [{ payload: { protocol: 'ip', field: 'saddr' } }, { meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] }, right: '@dnat4_lan' } },
    { dnat: { family: 'ip', addr: '192.168.1.10', port: 22 } },
  ]));
  const plain = buildRuleset(cfg('doors:\n  d: { sequence: ["1"], open: ["22/tcp"] }\n')).nftables as Cmd[];
  assert.deepEqual(plain.filter((c) => c.add?.chain).map((c) => c.add!.chain!.name), ['managed_by_knockctl', 'input'], 'no forward or nat chain without router doors');
});

test('grants: one element per service in the door\'s sets; an IPv6 source gets no IPv4-only service; manual grants use the shared sets', () => {
  const l = buildSetLayout(ROUTER);
  const lan = ROUTER.doors[0]!;
  const g4: Grant = { door: 'lan', family: 4, addr: '203.0.113.5', services: lan.open, timeoutSec: 30 };
  const adds = (b: { nftables: readonly unknown[] }) => (b.nftables as Cmd[]).filter((c, i) => c.add?.element && i % 3 === 2).map((c) => [c.add!.element!.name, J((c.add!.element!.elem as { elem: { val: unknown } }[])[0]!.elem.val)]);
  assert.deepEqual(adds(buildGrantBatch('kt', l, [g4])), [
    ['in4_lan', J({ concat: ['203.0.113.5', 'tcp', 22] })],
    ['fwd4_lan', J({ concat: ['203.0.113.5', '192.168.1.10', 'tcp', 22] })],
    ['dnat4_lan', J({ concat: ['203.0.113.5', 'tcp', 2222] })],
  ]);
  const g6: Grant = { ...g4, family: 6, addr: '2001:db8::5' };
  assert.deepEqual(adds(buildGrantBatch('kt', l, [g6])), [
    ['in6_lan', J({ concat: ['2001:db8::5', 'tcp', 22] })],
    ['fwd6_lan', J({ concat: ['2001:db8::5', 'fd00::10', 'tcp', 22] })],
  ]);
  const prefix: Grant = { door: 'spa', family: 4, addr: '203.0.113.0/24', services: [svc('192.168.1.11:80/tcp')], timeoutSec: 9 };
  assert.deepEqual(adds(buildGrantBatch('kt', l, [prefix])), [['fwd4_spa', J({ concat: [{ prefix: { addr: '203.0.113.0', len: 24 } }, '192.168.1.11', 'tcp', 80] })]]);
  const manual: Grant = { door: 'manual', family: 4, addr: '203.0.113.6', services: [svc('192.168.1.10:22/tcp'), svc('2222/tcp=>192.168.1.10:22')], timeoutSec: 60 };
  assert.deepEqual(adds(buildGrantBatch('kt', l, [manual])).map((x) => x[0]), ['forward4', 'dnat4']);
  const none = buildSetLayout(cfg('doors:\n  d: { sequence: ["1"], open: ["22/tcp"] }\n'));
  assert.throws(() => buildGrantBatch('kt', none, [manual]), NoSetError);
});

test('a port forward grant also lets its target through the forward chain; status shows only the port forward', () => {
  const c = cfg('doors:\n  pf: { sequence: ["1"], open: ["2222/tcp=>192.168.1.10:22"] }\n  fw: { sequence: ["2"], open: ["192.168.1.10:22/tcp"] }\n');
  const l = buildSetLayout(c);
  assert.deepEqual(l.sets.filter((x) => x.door === 'pf').map((x) => x.name), ['fwd4_pf', 'dnat4_pf']);
  const b = buildGrantBatch('kt', l, [{ door: 'pf', family: 4, addr: '203.0.113.5', services: c.doors[0]!.open, timeoutSec: 30 }]).nftables as Cmd[];
  assert.deepEqual(b.filter((x, i) => x.add?.element && i % 3 === 2).map((x) => [x.add!.element!.name, J((x.add!.element!.elem as { elem: { val: unknown } }[])[0]!.elem.val)]), [
    ['dnat4_pf', J({ concat: ['203.0.113.5', 'tcp', 2222] })],
    ['fwd4_pf', J({ concat: ['203.0.113.5', '192.168.1.10', 'tcp', 22] })],
  ]);
  const listed: AccessEntry[] = [
    { family: 4, addr: '203.0.113.5', kind: 'dnat', proto: 'tcp', port: 2222, set: 'dnat4_pf', door: 'pf' },
    { family: 4, addr: '203.0.113.5', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, set: 'fwd4_pf', door: 'pf' },
    { family: 4, addr: '203.0.113.6', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, set: 'fwd4_fw', door: 'fw' },
  ];
  assert.deepEqual(withoutPortForwardTargets(listed, c.doors).map((e) => e.set), ['dnat4_pf', 'fwd4_fw']);
  const both = cfg('doors:\n  d: { sequence: ["1"], open: ["2222/tcp=>192.168.1.10:22", "192.168.1.10:22/tcp"] }\n');
  assert.equal(withoutPortForwardTargets(listed.slice(0, 2).map((e) => ({ ...e, door: 'd' })), both.doors).length, 2, 'a door that opens the target itself shows it');
});

test('revokes look in every set of the kind (a close door revokes what another door granted); without services, what the kernel holds', () => {
  const l = buildSetLayout(ROUTER);
  const close = ROUTER.doors[2]!;
  const b = buildRevokeBatch('kt', l, [{ door: 'close', family: 4, addr: '203.0.113.5', services: close.open }]).nftables as Cmd[];
  assert.deepEqual(b.filter((c) => c.delete).map((c) => c.delete!.element!.name), ['forward4', 'fwd4_lan', 'fwd4_spa']);
  const current: AccessEntry[] = [
    { family: 4, addr: '203.0.113.5', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, set: 'fwd4_lan' },
    { family: 4, addr: '203.0.113.5', kind: 'dnat', proto: 'tcp', port: 2222, set: 'dnat4_lan' },
    { family: 4, addr: '203.0.113.9', proto: 'tcp', port: 22, set: 'in4_lan' },
  ];
  const all = buildRevokeBatch('kt', l, [{ door: 'manual', family: 4, addr: '203.0.113.5' }], current).nftables as Cmd[];
  assert.deepEqual(all.filter((c) => c.delete).map((c) => [c.delete!.element!.name, J(c.delete!.element!.elem)]), [
    ['fwd4_lan', J([{ concat: ['203.0.113.5', '192.168.1.10', 'tcp', 22] }])],
    ['dnat4_lan', J([{ concat: ['203.0.113.5', 'tcp', 2222] }])],
  ]);
});

test('listing: forwarded and port-forward elements parse back; a packet-path element is named by its set\'s door', () => {
  const json = { nftables: [
    { set: { name: 'fwd4_lan', elem: [{ elem: { val: { concat: ['203.0.113.5', '192.168.1.10', 'tcp', 22] }, timeout: 30, expires: 20, comment: 'lan' } }] } },
    { set: { name: 'dnat6_lan', elem: [{ elem: { val: { concat: ['2001:db8::5', 'tcp', 2222] }, timeout: 30, expires: 21 } }] } },
    { set: { name: 'forward4', elem: [{ elem: { val: { concat: [{ prefix: { addr: '203.0.113.0', len: 24 } }, '192.168.1.10', 'tcp', 22] }, timeout: 9, expires: 8, comment: 'manual' } }] } },
    { set: { name: 'fwd4_bad', elem: [{ concat: ['203.0.113.5', 'tcp', 22] }] } },
  ] };
  assert.deepEqual(parseAccessEntries(json), [
    { family: 4, addr: '203.0.113.5', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, set: 'fwd4_lan', door: 'lan', timeoutSec: 30, expiresSec: 20 },
    { family: 6, addr: '2001:db8::5', kind: 'dnat', proto: 'tcp', port: 2222, set: 'dnat6_lan', door: 'lan', timeoutSec: 30, expiresSec: 21 },
    { family: 4, addr: '203.0.113.0/24', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, set: 'forward4', door: 'manual', timeoutSec: 9, expiresSec: 8 },
  ]);
});

test('kept grants go back to their set, or to the shared set when their door is gone', () => {
  const keep: AccessEntry[] = [
    { family: 4, addr: '203.0.113.5', kind: 'forward', to: '192.168.1.10', proto: 'tcp', port: 22, set: 'fwd4_lan', door: 'lan', expiresSec: 12 },
    { family: 4, addr: '203.0.113.6', proto: 'tcp', port: 22, set: 'in4_gone', door: 'gone', expiresSec: 5 },
    { family: 4, addr: '203.0.113.7', kind: 'dnat', proto: 'tcp', port: 2222, set: 'dnat4_gone', door: 'gone', expiresSec: 5 },
  ];
  const cmds = buildRuleset(ROUTER, { keep }).nftables as Cmd[];
  const els = cmds.filter((c) => c.add?.element).map((c) => [c.add!.element!.name, (c.add!.element!.elem as { elem: { timeout: number } }[])[0]!.elem.timeout]);
  assert.deepEqual(els, [['fwd4_lan', 12], ['allowed4', 5], ['dnat4', 5]]);
});

test('nft accepts a router ruleset with kernel and SPA router doors in check mode (throwaway namespace)', { skip: nftCheckSkip() }, (t) => {
  const ns = throwawayNetns(t, 'rtunit');
  const c = cfg(`table: kt
doors:
  k: { mode: kernel, sequence: ["7000", "8000"], open: ["22/tcp", "192.168.1.10:22/tcp", "2222/tcp=>[fd00::10]:22"] }
  s: { spa: { clients: { a: { key: "base64:${createHash('sha256').update('key 9').digest('base64')}" } }, nat_prefix: { ipv4: 24, ipv6: 64 } }, open: ["[fd00::11]:80/tcp", "8080/tcp=>192.168.1.11:80"] }
`);
  const batch = buildRuleset(c, { extra: buildKernelDoors(c), keep: [{ family: 4, addr: '203.0.113.0/24', kind: 'dnat', proto: 'tcp', port: 8080, set: 'dnat4_s', door: 's', expiresSec: 9 }] });
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-j', JSON.stringify(batch)]);
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', JSON.stringify(batch)]);
  const g = buildGrantBatch('kt', buildSetLayout(c), [{ door: 's', family: 6, addr: '2001:db8::/64', services: c.doors[1]!.open, timeoutSec: 5 }]);
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', JSON.stringify(g)]);
  const listed = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'kt']).toString());
  const entries = parseAccessEntries(listed).map((e) => [e.set, e.addr, e.kind ?? 'local', e.port]);
  assert.deepEqual(entries.sort(), [
    ['dnat4_s', '203.0.113.0/24', 'dnat', 8080],
    ['fwd6_s', '2001:db8::/64', 'forward', 80],
  ]);
});
