/**
 * Router doors end to end (issue #17): a client, a router running nftknock with forwarding on, and a
 * LAN host with services on 22 and 80. Forwarded services and port forwards open for the knocking
 * client only, IPv4 and IPv6; the unguarded port 80 stays reachable; the kernel closes both with the
 * daemon killed; SPA and kernel doors open them too; a foreign forward chain with policy drop beside
 * ours behaves as docs/routers.md says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KNOCKCTL, type Host, type Lab, skipReason, sleep } from './support/lab';
import { scratch, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';
import { upRouterLab } from './support/router-lab';

const skip = skipReason();

function knock(l: Lab, from: Host, addr: string, ...steps: string[]): Promise<unknown> {
  return l.exec(from.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', addr, ...steps);
}

/** The source addresses in one of our sets. */
async function sources(l: Lab, set: string): Promise<string[]> {
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', set)) as { nftables: { set?: { elem?: { elem?: { val: { concat: unknown[] } } }[] } }[] };
  return (j.nftables.find((o) => o.set)?.set?.elem ?? []).map((e) => String(e.elem?.val.concat[0]));
}

/** Wait (bounded) until every listed set is empty: the kernel expired the grants. */
async function expired(l: Lab, sets: readonly string[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const left = (await Promise.all(sets.map((s) => sources(l, s)))).flat();
    if (left.length === 0) return;
    if (Date.now() > until) assert.fail(`still in the sets after ${ms} ms: ${left.join(', ')}`);
    await sleep(250);
  }
}

function lanConfig(dir: string, lan: Host, extra = ''): string {
  return writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  lan:
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 5
    open: ["${lan.ip4}:22/tcp", "[${lan.ip6}]:22/tcp", "2222/tcp=>${lan.ip4}:22", "2222/tcp=>[${lan.ip6}]:22"]
    timeout: 20
${extra}`);
}

const granted = (d: RunningDaemon, src: string) => d.event('grant', (x) => x.src === src);

test('a knock opens a forwarded service and a port forward for the knocking client only, IPv4 and IPv6; the kernel closes them with the daemon killed', { skip }, async (t) => {
  const { lab: l, outside, lan } = await upRouterLab(t);
  const [a, b] = outside as [Host, Host];
  await l.service(22, lan.ns);
  await l.service(80, lan.ns);
  const cfg = lanConfig(scratch(), lan);
  const d = await startDaemon(l, cfg);
  for (const [addr, fwd] of [[lan.ip4, l.server.ip4], [lan.ip6, l.server.ip6]] as const) {
    assert.equal(await l.connects(a, addr, 22), false, `LAN ${addr}:22 closed before the knock`);
    assert.equal(await l.connects(a, fwd, 2222), false, `port forward ${fwd}:2222 closed before the knock`);
    assert.equal(await l.connects(a, addr, 80), true, `unguarded LAN ${addr}:80 reachable`);
  }
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await granted(d, a.ip4);
  assert.equal(await l.connects(a, lan.ip4, 22), true, 'forwarded service open for the knocking client');
  assert.equal(await l.connects(a, l.server.ip4, 2222), true, 'port forward open for the knocking client');
  assert.equal(await l.connects(b, lan.ip4, 22), false, 'still closed for another client');
  assert.equal(await l.connects(b, l.server.ip4, 2222), false, 'the port forward too');
  assert.equal(await l.connects(a, lan.ip6, 22), false, 'an IPv4 knock opens nothing over IPv6');
  await knock(l, a, l.server.ip6, '7000', '8000', '9000:udp');
  await granted(d, a.ip6);
  assert.equal(await l.connects(a, lan.ip6, 22), true, 'IPv6 forwarded service');
  assert.equal(await l.connects(a, l.server.ip6, 2222), true, 'IPv6 port forward');
  assert.equal(await l.connects(b, lan.ip6, 22), false);
  assert.equal(await l.connects(b, lan.ip4, 80), true, 'unguarded LAN port 80 reachable throughout');
  assert.deepEqual(await sources(l, 'fwd4_lan'), [a.ip4], 'nft list set shows the grant');
  assert.deepEqual(await sources(l, 'dnat6_lan'), [a.ip6]);
  const st = JSON.parse((await l.knockctl(l.server.ns, 'status', '-c', cfg, '--json')).stdout) as { grants: { addr: string; service: string; door: string }[] };
  assert.deepEqual(st.grants.filter((g) => g.addr === a.ip4).map((g) => g.service).sort(), [`${lan.ip4}:22/tcp`, `2222/tcp=>${lan.ip4}:22`].sort());
  d.child.kill('SIGKILL');
  await d.exited();
  assert.equal(await l.connects(a, lan.ip4, 22), true, 'the grant outlives the daemon');
  await expired(l, ['fwd4_lan', 'fwd6_lan', 'dnat4_lan', 'dnat6_lan'], 30000);
  assert.equal(await l.connects(a, lan.ip4, 22), false, 'the kernel closed the forwarded service');
  assert.equal(await l.connects(a, l.server.ip4, 2222), false, 'and the port forward');
  assert.equal(await l.connects(a, lan.ip6, 22), false);
  assert.equal(await l.connects(a, l.server.ip6, 2222), false);
});

test('an SPA door and a kernel door open a forwarded service; manual grant, status and revoke cover them', { skip }, async (t) => {
  const { lab: l, outside, lan } = await upRouterLab(t);
  const [a, b] = outside as [Host, Host];
  await l.service(22, lan.ns);
  const dir = scratch();
  const key = join(dir, 'alice.key');
  const routerConfig = (clients: string): string => writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  lan-spa:
    spa: { clients: ${clients} }
    open: ["${lan.ip4}:22/tcp"]
    timeout: 30
  lan-kernel:
    mode: kernel
    sequence: ["7100:tcp", "7200:udp"]
    open: ["${lan.ip4}:22/tcp", "2223/tcp=>${lan.ip4}:22"]
    timeout: 30
`);
  // The key file is made on the server for this door (it carries the server's SPA identity).
  const kg = await l.knockctl(l.server.ns, 'keygen', '-c', routerConfig('{}'), '--door', 'lan-spa', '-n', 'alice', '-o', key, '--host', l.server.ip4);
  assert.equal(kg.code, 0, kg.stderr);
  const entry = /(key|public_key): "([^"]+)"/.exec(kg.stdout);
  assert.ok(entry, kg.stdout);
  const cfg = routerConfig(`{ alice: { ${entry[1]}: "${entry[2]}" } }`);
  const d = await startDaemon(l, cfg);
  assert.equal(await l.connects(a, lan.ip4, 22), false);
  const sent = await l.exec(a.ns, process.execPath, KNOCKCTL, 'spa', l.server.ip4, '-k', key);
  assert.equal(sent.code, 0, sent.stderr);
  const g = await d.event('grant', (x) => x.src === a.ip4 && x.via === 'spa');
  assert.deepEqual(g.ports, [`${lan.ip4}:22/tcp`], 'no access request: everything the client may open, the forwarded service included');
  assert.equal(await l.connects(a, lan.ip4, 22), true, 'SPA opened the forwarded service');
  assert.deepEqual(await sources(l, 'fwd4_lan-spa'), [a.ip4]);
  d.child.kill('SIGKILL');
  await d.exited();
  await knock(l, b, l.server.ip4, '7100', '7200:udp');
  assert.equal(await l.connects(b, lan.ip4, 22), true, 'the kernel door opened the forwarded service with no daemon');
  assert.equal(await l.connects(b, l.server.ip4, 2223), true, 'and its port forward');
  assert.deepEqual(await sources(l, 'fwd4_lan-kernel'), [b.ip4]);
  // Manual access: the same sets, status names the services, revoke takes them away.
  // A manual grant for an address of the LAN client's link that no host uses: the element is what counts.
  const c = { ip4: a.ip4.replace(/\.2$/, '.77') };
  const gr = await l.knockctl(l.server.ns, 'grant', c.ip4, `${lan.ip4}:22/tcp`, `2223/tcp=>${lan.ip4}:22`, '-c', cfg, '-t', '60');
  assert.equal(gr.code, 0, gr.stderr);
  assert.deepEqual(await sources(l, 'forward4'), [c.ip4], 'a manual grant goes to the shared set');
  const bad = await l.knockctl(l.server.ns, 'grant', c.ip4, `${lan.ip4}:80/tcp`, '-c', cfg);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a forwarded service of any door/);
  const st = await l.knockctl(l.server.ns, 'status', '-c', cfg);
  assert.match(st.stdout, new RegExp(`${c.ip4.replace(/\./g, '\\.')} +2223/tcp=>${lan.ip4.replace(/\./g, '\\.')}:22 +manual`));
  assert.match(st.stdout, new RegExp(`${b.ip4.replace(/\./g, '\\.')} +${lan.ip4.replace(/\./g, '\\.')}:22/tcp +lan-kernel`), 'a packet-path grant is named by its door\'s set');
  const rv = await l.knockctl(l.server.ns, 'revoke', b.ip4, `${lan.ip4}:22/tcp`, '-c', cfg);
  assert.equal(rv.code, 0, rv.stderr);
  assert.match(rv.stdout, new RegExp(`revoked ${b.ip4.replace(/\./g, '\\.')} → ${lan.ip4.replace(/\./g, '\\.')}:22/tcp`));
  assert.equal(await l.connects(b, lan.ip4, 22), false, 'revoked: the forwarded service is closed again');
  assert.equal(await l.connects(b, l.server.ip4, 2223), false, 'and so is the way to it through the port forward (docs/routers.md)');
  assert.deepEqual(await sources(l, 'dnat4_lan-kernel'), [b.ip4], 'the port forward element itself is left');
  assert.equal((await l.knockctl(l.server.ns, 'revoke', b.ip4, '-c', cfg)).code, 0);
  assert.deepEqual(await sources(l, 'dnat4_lan-kernel'), [], 'revoke without services takes everything');
});

test('--confirm rolls back to a router ruleset with its forward grants', { skip }, async (t) => {
  const { lab: l, outside, lan } = await upRouterLab(t, 1);
  const a = outside[0]!;
  await l.service(22, lan.ns);
  const dir = scratch();
  const cfg = lanConfig(dir, lan);
  const plain = writeConfig(dir, 'table: kt\nbase: { allow: ["81/tcp"] }\n', 'plain.yaml');
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', cfg)).code, 0);
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, `${lan.ip4}:22/tcp`, `2222/tcp=>${lan.ip4}:22`, '-c', cfg, '-t', '600')).code, 0);
  const runDir = join(dir, 'run');
  const r = await l.exec(l.server.ns, 'env', `KNOCKCTL_RUN_DIR=${runDir}`, process.execPath, KNOCKCTL, 'install-ruleset', '-c', plain, '--confirm', '5');
  assert.equal(r.code, 0, r.stderr);
  const noForward = await l.exec(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'forward');
  assert.notEqual(noForward.code, 0, 'the plain config has no forward chain');
  const until = Date.now() + 15000;
  while ((await l.exec(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'forward')).code !== 0) {
    assert.ok(Date.now() < until, 'not confirmed: the router ruleset must come back');
    await sleep(250);
  }
  assert.equal(await l.connects(a, lan.ip4, 22), true, 'the forwarded grant came back with it');
  assert.equal(await l.connects(a, l.server.ip4, 2222), true, 'and the port forward');
});

test('a foreign forward chain with policy drop beside ours: it must accept a forwarded service itself; ours then decides who', { skip }, async (t) => {
  const { lab: l, outside, lan } = await upRouterLab(t);
  const [a, b] = outside as [Host, Host];
  await l.service(22, lan.ns);
  await l.service(80, lan.ns);
  const dir = scratch();
  const foreign = writeConfig(dir, `table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ip daddr ${lan.ip4} tcp dport 22 accept
    ip6 daddr ${lan.ip6} tcp dport 22 accept
  }
}
`, 'fw.nft');
  await l.sh(l.server.ns, 'nft', '-f', foreign);
  const d = await startDaemon(l, lanConfig(dir, lan));
  assert.equal(await l.connects(a, lan.ip4, 22), false, 'theirs accepts 22, ours drops it: closed before the knock');
  assert.equal(await l.connects(a, lan.ip4, 80), false, 'theirs drops 80 (not guarded by us, not accepted by them)');
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await granted(d, a.ip4);
  assert.equal(await l.connects(a, lan.ip4, 22), true, 'after the knock: both tables let it through');
  assert.equal(await l.connects(a, l.server.ip4, 2222), true, 'the port forward too (theirs accepts the DNATed 22)');
  assert.equal(await l.connects(b, lan.ip4, 22), false, 'not for another client');
  assert.equal(await l.connects(a, lan.ip4, 80), false, 'our grant never overrides their drop');
  const theirs = await l.sh(l.server.ns, 'nft', 'list', 'table', 'inet', 'fw');
  assert.match(theirs, /policy drop/, 'their table is untouched');
});
