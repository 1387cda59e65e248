import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { nftCheckSkip, throwawayNetns } from './throwaway-netns';
import { loadConfigText } from '../../../src/config';
import { buildKernelDoors, buildRuleset, kernelDoorChain, liveSet, stageSet } from '../../../src/nft';

const cfg = (text: string) => loadConfigText(text).config;
const SSH = 'table: kt\ndoors:\n  ssh:\n    mode: kernel\n    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]\n    seq_timeout: 5\n    tcpflags: syn,!ack\n    open: ["22/tcp", "53/udp"]\n    timeout: 30\n';

type Cmd = { add: Record<string, Record<string, unknown>> };
type Rule = { chain: string; expr: Record<string, unknown>[]; comment?: string };
const J = (x: unknown) => JSON.stringify(x);
const sets = (c: readonly unknown[]) => (c as Cmd[]).filter((x) => x.add.set).map((x) => x.add.set as { name: string; type: string; flags: string[]; size: number; timeout: number });
const chainRules = (c: readonly unknown[], chain: string) => (c as Cmd[]).filter((x) => x.add.rule && (x.add.rule as Rule).chain === chain).map((x) => x.add.rule as Rule);

test('a 3-knock door: stage sets and a live set per family, flags timeout, size, seq_timeout', () => {
  const k = buildKernelDoors(cfg(SSH));
  assert.deepEqual(sets(k.sets).map((s) => [s.name, s.type]), [
    ['kd_ssh_s1_4', 'ipv4_addr'], ['kd_ssh_s2_4', 'ipv4_addr'], ['kd_ssh_live_4', 'ipv4_addr'],
    ['kd_ssh_s1_6', 'ipv6_addr'], ['kd_ssh_s2_6', 'ipv6_addr'], ['kd_ssh_live_6', 'ipv6_addr'],
  ]);
  for (const s of sets(k.sets)) {
    assert.deepEqual(s.flags, ['timeout'], 'nft 1.0.6 JSON rejects "dynamic"');
    assert.equal(s.size, 65536);
    assert.equal(s.timeout, 5);
  }
  assert.equal(stageSet('ssh', 2, 6), 'kd_ssh_s2_6');
  assert.equal(liveSet('ssh', 4), 'kd_ssh_live_4');
  const chains = (k.sets as Cmd[]).filter((x) => x.add.chain).map((x) => x.add.chain!.name);
  assert.deepEqual(chains, [kernelDoorChain('ssh', 4), kernelDoorChain('ssh', 6)]);
});

test('a 3-knock door: the chain rules in order, each acting rule ends in return, none accepts', () => {
  const k = buildKernelDoors(cfg(SSH));
  const r = chainRules(k.sets, 'kd_ssh_4');
  assert.deepEqual(r.map((x) => x.comment), [
    'ssh: tcpflags', 'ssh: knock 2/3', 'ssh: knock 3/3, grant', 'ssh: repeat of knock 1', 'ssh: repeat of knock 2', 'ssh: knock 1/3', 'ssh: wrong knock',
  ]);
  assert.equal(J(r[0]!.expr), J([{ match: { op: '!=', left: { '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, 0x12] }, right: 0x02 } }, { return: null }]));
  const src = { payload: { protocol: 'ip', field: 'saddr' } };
  assert.equal(J(r[1]!.expr), J([
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8000 } },
    { match: { op: '==', left: src, right: '@kd_ssh_live_4' } },
    { match: { op: '==', left: src, right: '@kd_ssh_s1_4' } },
    { set: { op: 'delete', elem: src, set: '@kd_ssh_s1_4' } },
    { set: { op: 'update', elem: src, set: '@kd_ssh_s2_4' } },
    { counter: { packets: 0, bytes: 0 } }, { return: null },
  ]));
  const grant = J(r[2]!.expr);
  assert.ok(grant.includes(J({ set: { op: 'update', elem: { elem: { val: { concat: [src, 'tcp', 22] }, timeout: 30 } }, set: '@in4_ssh' } })));
  assert.ok(grant.includes(J({ set: { op: 'update', elem: { elem: { val: { concat: [src, 'udp', 53] }, timeout: 30 } }, set: '@in4_ssh' } })));
  assert.ok(grant.includes(J({ set: { op: 'delete', elem: src, set: '@kd_ssh_live_4' } })));
  assert.equal(J(r[6]!.expr), J([
    { set: { op: 'delete', elem: src, set: '@kd_ssh_s1_4' } }, { set: { op: 'delete', elem: src, set: '@kd_ssh_s2_4' } },
    { set: { op: 'delete', elem: src, set: '@kd_ssh_live_4' } }, { counter: { packets: 0, bytes: 0 } },
  ]));
  for (const x of r.slice(0, -1)) assert.equal(J(x.expr.at(-1)), J({ return: null }));
  const v6 = J(chainRules(k.sets, 'kd_ssh_6'));
  assert.ok(v6.includes('"@in6_ssh"') && !v6.includes('"ip"') && !v6.includes('in4_ssh'), 'the door\'s own set of the family');
  assert.ok(!J(k).includes('"accept"'), 'knock packets are never accepted by door rules');
});

test('input-chain jumps: one per family, the door\'s knocks as l4proto . dport', () => {
  const k = buildKernelDoors(cfg(SSH));
  assert.equal(k.rules.length, 2);
  assert.equal(J(k.rules[0]), J([
    { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
    { match: { op: '==', left: { concat: [{ meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] }, right: { set: [{ concat: ['tcp', 7000] }, { concat: ['tcp', 8000] }, { concat: ['udp', 9000] }] } } },
    { jump: { target: 'kd_ssh_4' } },
  ]));
  assert.match(J(k.rules[1]), /"ipv6".*"kd_ssh_6"/);
});

test('from, target and interfaces filter the jump; a family without networks gets no rules at all', () => {
  const k = buildKernelDoors(cfg('doors:\n  d:\n    mode: kernel\n    sequence: ["1:udp", "2:udp"]\n    from: ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]\n    target: ["10.1.1.1"]\n    interfaces: [eth0, eth1]\n    open: ["22/tcp"]\n'));
  assert.equal(k.rules.length, 1, 'target has no IPv6 address: no IPv6 jump');
  assert.deepEqual(sets(k.sets).map((s) => s.name), ['kd_d_s1_4', 'kd_d_live_4']);
  assert.equal(J(k.rules[0]!.slice(0, 3)), J([
    { match: { op: '==', left: { meta: { key: 'iifname' } }, right: { set: ['eth0', 'eth1'] } } },
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { set: [{ prefix: { addr: '10.0.0.0', len: 8 } }, '192.0.2.7'] } } },
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { set: ['10.1.1.1'] } } },
  ]));
  assert.ok(!J(k).includes('tcp flags') && !chainRules(k.sets, 'kd_d_4').some((r) => r.comment?.endsWith('tcpflags')), 'UDP-only door: no flags rule');
});

test('revoke deletes the source\'s elements for open; a one-knock door needs no stage sets', () => {
  const k = buildKernelDoors(cfg('doors:\n  close:\n    mode: kernel\n    sequence: ["9:udp"]\n    action: revoke\n    open: ["22/tcp"]\n'));
  assert.deepEqual(sets(k.sets), []);
  const r = chainRules(k.sets, 'kd_close_6');
  assert.deepEqual(r.map((x) => x.comment), ['close: revoke']);
  assert.equal(J(r[0]!.expr), J([
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 9 } },
    { set: { op: 'delete', elem: { concat: [{ payload: { protocol: 'ip6', field: 'saddr' } }, 'tcp', 22] }, set: '@allowed6' } },
    { counter: { packets: 0, bytes: 0 } }, { return: null },
  ]));
});

test('a kernel door opens forwarded services and port forwards from the packet path, each family only its own targets', () => {
  const k = buildKernelDoors(cfg('doors:\n  lan:\n    mode: kernel\n    sequence: ["7000", "8000"]\n    open: ["22/tcp", "192.168.1.10:22/tcp", "2222/tcp=>[fd00::10]:22"]\n    timeout: 20\n'));
  const v4 = J(chainRules(k.sets, 'kd_lan_4').find((r) => r.comment?.endsWith('grant'))!.expr);
  const src4 = { payload: { protocol: 'ip', field: 'saddr' } };
  assert.ok(v4.includes(J({ set: { op: 'update', elem: { elem: { val: { concat: [src4, 'tcp', 22] }, timeout: 20 } }, set: '@in4_lan' } })));
  assert.ok(v4.includes(J({ set: { op: 'update', elem: { elem: { val: { concat: [src4, '192.168.1.10', 'tcp', 22] }, timeout: 20 } }, set: '@fwd4_lan' } })));
  assert.ok(!v4.includes('dnat'), 'an IPv6 port forward opens nothing to an IPv4 source');
  const v6 = J(chainRules(k.sets, 'kd_lan_6').find((r) => r.comment?.endsWith('grant'))!.expr);
  const src6 = { payload: { protocol: 'ip6', field: 'saddr' } };
  assert.ok(v6.includes(J({ set: { op: 'update', elem: { elem: { val: { concat: [src6, 'tcp', 2222] }, timeout: 20 } }, set: '@dnat6_lan' } })));
  assert.ok(!v6.includes('192.168.1.10'));
});

test('daemon doors and SPA doors produce nothing', () => {
  const k = buildKernelDoors(cfg('doors:\n  d: { sequence: ["1", "2"], open: ["22/tcp"] }\n'));
  assert.deepEqual(k, { sets: [], rules: [] });
});

test('buildRuleset places the door parts: declarations before the input chain, jumps before the access lookups', () => {
  const b = buildRuleset(cfg(SSH), { extra: buildKernelDoors(cfg(SSH)) }).nftables as Cmd[];
  const input = b.findIndex((c) => c.add?.chain?.name === 'input');
  const lastDecl = b.map((c) => (c.add?.rule as Rule | undefined)?.chain ?? '').lastIndexOf('kd_ssh_6');
  assert.ok(lastDecl < input);
  const rules = b.filter((c) => c.add?.rule && (c.add.rule as Rule).chain === 'input').map((c) => J(c));
  assert.ok(rules.findIndex((r) => r.includes('"jump"')) < rules.findIndex((r) => r.includes('@allowed4')));
});

test('nft accepts the whole batch in check mode (throwaway namespace)', { skip: nftCheckSkip() }, (t) => {
  const ns = throwawayNetns(t, 'kdunit');
  const c = cfg(`${SSH}  close:\n    mode: kernel\n    sequence: ["9100:udp", "9200:udp"]\n    action: revoke\n    from: ["10.0.0.0/8", "2001:db8::/32"]\n    interfaces: [eth0]\n    open: ["22/tcp"]\n`);
  for (const policy of ['drop', 'guard']) {
    const withPolicy = { ...c, base: { ...c.base, policy: policy as 'drop' | 'guard' } };
    const batch = buildRuleset(withPolicy, { extra: buildKernelDoors(withPolicy) });
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-j', JSON.stringify(batch)], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
});
