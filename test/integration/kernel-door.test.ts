/**
 * Kernel-only doors against the real kernel: install-ruleset alone, no daemon anywhere; clients knock
 * with the Debian `knock` client and connect to a stand-in service.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, skipReason, sleep, type Host } from './support/lab';

const KNOCK = '/usr/bin/knock';
const skip = skipReason() ?? (existsSync(KNOCK) ? undefined : `needs the knock client at ${KNOCK} (apt install knockd)`);
const dir = mkdtempSync(join(tmpdir(), 'knockctl-kd-'));
const CONFIG = join(dir, 'kernel.yaml');
writeFileSync(CONFIG, `
table: kt
doors:
  ssh:
    mode: kernel
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 2
    open: ["22/tcp"]
    timeout: 3
  close:
    mode: kernel
    sequence: ["7100:udp", "7200:udp"]
    action: revoke
    open: ["22/tcp"]
`);

const GUARD = join(dir, 'guard.yaml');
writeFileSync(GUARD, `
table: kt
base: { policy: guard }
doors:
  ssh:
    mode: kernel
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 2
    open: ["22/tcp"]
    timeout: 3
`);

async function lab(t: TestContext, clients = 1, config = CONFIG): Promise<Lab> {
  const l = new Lab(clients);
  t.after(() => l.down());
  await l.up();
  await l.service(22);
  const inst = await l.knockctl(l.server.ns, 'install-ruleset', '-c', config, '--no-keep-ssh');
  assert.equal(inst.code, 0, inst.stderr);
  return l;
}

async function knock(l: Lab, from: Host, addr: string, ports: string[], delayMs = 50): Promise<void> {
  const r = await l.exec(from.ns, KNOCK, '-d', String(delayMs), addr, ...ports);
  assert.equal(r.code, 0, r.stderr);
}

async function allowed(l: Lab, set: string): Promise<{ val: { concat: unknown[] }; timeout?: number; expires?: number }[]> {
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', set)) as { nftables: { set?: { elem?: { elem?: never }[] } }[] };
  return (j.nftables.find((o) => o.set)?.set?.elem ?? []).map((e) => (e as { elem?: never }).elem ?? { val: e as never });
}

const SEQ = ['7000', '8000', '9000:udp'];

test('the right sequence opens the service for the knocking client only, IPv4 and IPv6, and it expires by itself', { skip }, async (t) => {
  const l = await lab(t, 2);
  const [a, b] = l.clients as [Host, Host];
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'closed before knocking');
  await knock(l, a, l.server.ip4, SEQ);
  // The grant lasts 3 s, which a loaded machine can spend on a few commands: read the set and status
  // right away, then knock again before each connect, and wait for the expiry instead of sleeping.
  const st = await l.knockctl(l.server.ns, 'status', '-c', CONFIG, '--json');
  assert.match(st.stdout, new RegExp(a.ip4.replace(/\./g, '\\.')));
  const els = await allowed(l, 'in4_ssh');
  assert.deepEqual(els.map((e) => e.val.concat), [[a.ip4, 'tcp', 22]]);
  assert.equal(els[0]?.timeout, 3);
  await knock(l, a, l.server.ip4, SEQ);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'open after the IPv4 knock');
  await knock(l, a, l.server.ip6, SEQ);
  assert.equal(await l.connects(a, l.server.ip6, 22), true, 'open after the IPv6 knock');
  assert.equal(await l.connects(b, l.server.ip4, 22), false, 'another client stays locked out');
  for (const end = Date.now() + 15000; Date.now() < end && (await allowed(l, 'in4_ssh')).length > 0;) await sleep(300);
  assert.deepEqual(await allowed(l, 'in4_ssh'), [], 'the kernel removed the grant by itself');
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'and the port is closed again');
});

test('a wrong order, a wrong knock in between and a too-slow sequence open nothing', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  await knock(l, a, l.server.ip4, ['8000', '7000', '9000:udp']);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'wrong order');
  await knock(l, a, l.server.ip4, ['7000', '8000', '7200:udp', '9000:udp']);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'a knock of another door neither advances nor breaks this one');
  await knock(l, a, l.server.ip4, ['7100:udp', '7200:udp']);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'the revoke door closes it again');
  await knock(l, a, l.server.ip4, ['7000', '8000', '8000', '9000:udp']);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'a repeat of the last accepted knock is ignored (a retransmit)');
  await knock(l, a, l.server.ip4, ['7100:udp', '7200:udp']);
  await knock(l, a, l.server.ip4, ['7000', '9000:udp', '8000', '9000:udp']);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'a wrong knock mid-sequence clears the progress');
  await knock(l, a, l.server.ip4, ['7000', '8000', '7000', '8000', '9000:udp']);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the first knock restarts at stage 1');
  await knock(l, a, l.server.ip4, ['7100:udp', '7200:udp']);
  await knock(l, a, l.server.ip4, SEQ, 1200);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'seq_timeout 2 s counts from the first knock: 2.4 s is too slow');
  assert.deepEqual(await allowed(l, 'kd_ssh_s2_4'), [], 'the late last knock cleared the progress');
});

test('knocking again while granted refreshes the one element rather than adding another', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  await knock(l, a, l.server.ip4, SEQ);
  await sleep(2000);
  await knock(l, a, l.server.ip4, SEQ);
  const els = await allowed(l, 'in4_ssh');
  assert.equal(els.length, 1);
  assert.ok((els[0]?.expires ?? 0) >= 2, `expires ${els[0]?.expires}: refreshed to the full 3 s`);
  await sleep(1500);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'still open 3.5 s after the first grant: the refresh counted');
});

test('guard policy: knocks pass the chain (policy accept) and still open the guarded service', { skip }, async (t) => {
  const l = await lab(t, 2, GUARD);
  const [a, b] = l.clients as [Host, Host];
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'guard drops the door\'s open port before a knock');
  await knock(l, a, l.server.ip4, SEQ);
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
  assert.equal(await l.connects(b, l.server.ip4, 22), false);
});
