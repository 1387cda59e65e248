/**
 * install-ruleset, grant, revoke, status, uninstall, guard mode and --confirm against the real kernel,
 * in throwaway namespaces: a server with the ruleset and a stand-in SSH service, clients that connect.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKCTL, upLab, Lab, skipReason, sleep } from './support/lab';

const skip = skipReason();
const dir = mkdtempSync(join(tmpdir(), 'knockctl-it-'));

function config(name: string, text: string, ext = 'yaml'): string {
  const file = join(dir, `${name}.${ext}`);
  writeFileSync(file, text);
  return file;
}

const DROP = config('drop', `
table: kt
base:
  allow: ["80/tcp"]
doors:
  ssh:
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    open: ["22/tcp"]
    timeout: 30
`);

const lab = (t: TestContext, clients = 1): Promise<Lab> => upLab(t, clients);

interface Elem { elem?: { val: { concat: unknown[] }; timeout?: number; expires?: number; comment?: string } }

async function elements(l: Lab, set: string): Promise<Elem[]> {
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', set)) as { nftables: { set?: { elem?: Elem[] } }[] };
  return j.nftables.find((o) => o.set)?.set?.elem ?? [];
}

test('a grant opens the service for that client only, and the kernel closes it again by itself', { skip }, async (t) => {
  const l = await lab(t, 2);
  const [a, b] = l.clients as [typeof l.clients[0], typeof l.clients[0]];
  await l.service(22);
  await l.service(80);
  const inst = await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP);
  assert.equal(inst.code, 0, inst.stderr);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'port 22 must be closed before a grant');
  assert.equal(await l.connects(a, l.server.ip4, 80), true, 'base.allow 80/tcp must be open to everyone');
  // 10 s: long enough for the checks below on a loaded machine; the expiry is then awaited, not slept on.
  const g = await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', DROP, '--timeout', '10');
  assert.equal(g.code, 0, g.stderr);
  const g6 = await l.knockctl(l.server.ns, 'grant', a.ip6, '22/tcp', '-c', DROP, '--timeout', '10');
  assert.equal(g6.code, 0, g6.stderr);
  const st = await l.knockctl(l.server.ns, 'status', '-c', DROP, '--json');
  const grants = (JSON.parse(st.stdout) as { grants: { addr: string; port: number; door: string; expires: number }[] }).grants;
  assert.deepEqual(grants.map((x) => [x.addr, x.port, x.door]).sort(), [[a.ip4, 22, 'manual'], [a.ip6, 22, 'manual']].sort());
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'granted client must connect over IPv4');
  assert.equal(await l.connects(a, l.server.ip6, 22), true, 'granted client must connect over IPv6 (needs neighbour discovery)');
  assert.equal(await l.connects(b, l.server.ip4, 22), false, 'another client must stay locked out');
  for (const end = Date.now() + 20000; Date.now() < end && (await elements(l, 'allowed4')).length > 0;) await sleep(500);
  assert.deepEqual(await elements(l, 'allowed4'), [], 'the grant must expire in the kernel with no process running');
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'and the port is closed again');
});

test('granting the same source twice leaves one element with the refreshed timeout', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP)).code, 0);
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', DROP, '-t', '5')).code, 0);
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', DROP, '-t', '120')).code, 0);
  const els = await elements(l, 'allowed4');
  assert.equal(els.length, 1);
  assert.equal(els[0]?.elem?.timeout, 120);
  assert.ok((els[0]?.elem?.expires ?? 0) > 100, `expires ${els[0]?.elem?.expires} must be the new timeout's`);
  // A shorter grant after a longer one replaces it too: the latest grant wins.
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', DROP, '-t', '30')).code, 0);
  assert.equal((await elements(l, 'allowed4'))[0]?.elem?.timeout, 30);
});

test('re-installing is idempotent and keeps grants with their remaining time', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP)).code, 0);
  const first = await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input');
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', DROP, '-t', '300')).code, 0);
  const again = await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /1 grant\(s\) kept/);
  assert.equal(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input'), first);
  const els = await elements(l, 'allowed4');
  assert.equal(els.length, 1);
  assert.equal(els[0]?.elem?.comment, 'manual');
  assert.ok((els[0]?.elem?.expires ?? 0) > 290 && (els[0]?.elem?.expires ?? 999) <= 300);
});

test('uninstall removes our table and leaves a foreign table byte-identical', { skip }, async (t) => {
  const l = await lab(t);
  await l.sh(l.server.ns, 'nft', '-f', config('foreign', `table ip foreign {
  set blocked { type ipv4_addr; elements = { 192.0.2.1 }; }
  chain c { type filter hook input priority -10; policy accept; ip saddr @blocked counter drop; }
}
table inet other {
  chain o { type filter hook output priority 0; policy accept; }
}
`, 'nft'));
  const before = await l.sh(l.server.ns, 'nft', 'list', 'ruleset');
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP)).code, 0);
  assert.equal((await l.knockctl(l.server.ns, 'grant', l.clients[0]!.ip4, '22/tcp', '-c', DROP)).code, 0);
  const un = await l.knockctl(l.server.ns, 'uninstall-ruleset', '-c', DROP);
  assert.equal(un.code, 0, un.stderr);
  assert.equal(await l.sh(l.server.ns, 'nft', 'list', 'ruleset'), before);
  const twice = await l.knockctl(l.server.ns, 'uninstall-ruleset', '-c', DROP);
  assert.equal(twice.code, 0);
  assert.match(twice.stdout, /was not installed/);
});

test('guard mode only closes the doors\' ports: other services stay reachable', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const guard = config('guard', `
table: kt
base: { policy: guard }
doors:
  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }
`);
  await l.service(22);
  await l.service(8080);
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', guard)).code, 0);
  assert.equal(await l.connects(a, l.server.ip4, 8080), true, 'a service that is not guarded stays reachable');
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'the guarded port is closed');
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', guard, '-t', '30')).code, 0);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the guarded port opens for a granted source');
  const chain = await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input');
  assert.match(chain, /policy accept/);
});

test('--confirm restores the previous table unless confirmed; confirm keeps the new one', { skip }, async (t) => {
  const l = await lab(t);
  const runDir = mkdtempSync(join(tmpdir(), 'knockctl-run-'));
  const env = ['env', `KNOCKCTL_RUN_DIR=${runDir}`, process.execPath, KNOCKCTL];
  const open81 = config('open81', 'table: kt\nbase: { allow: ["81/tcp"] }\n');
  // The table to restore has a kernel door: its rules only survive a JSON snapshot (see nft/restore.ts).
  const kernel = config('kernel', 'table: kt\ndoors:\n  kd: { mode: kernel, sequence: ["7000", "8000:udp"], open: ["22/tcp"] }\n');
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', kernel)).code, 0);
  assert.equal((await l.knockctl(l.server.ns, 'grant', l.clients[0]!.ip4, '22/tcp', '-c', kernel, '-t', '600')).code, 0);
  const before = await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input');
  const doorChain = await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'kd_kd_4');
  const r = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'install-ruleset', '-c', open81, '--confirm', '5');
  assert.equal(r.code, 0, r.stderr);
  assert.match(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input'), /tcp \. 81/);
  await sleep(6500);
  assert.equal(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input'), before, 'not confirmed: the previous chain is back');
  assert.equal(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'kd_kd_4'), doorChain, 'with its kernel door');
  assert.match(await l.sh(l.server.ns, 'nft', 'list', 'set', 'inet', 'kt', 'allowed4'), /tcp \. 22 timeout/, 'and its grants');
  const r2 = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'install-ruleset', '-c', open81, '--confirm', '5');
  assert.equal(r2.code, 0, r2.stderr);
  const c = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'confirm', '-c', open81);
  assert.equal(c.code, 0, c.stderr);
  await sleep(6000);
  assert.match(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input'), /tcp \. 81/, 'confirmed: the new chain stays');
});

// The real thing (sshd, sudo, a new session) is in ssh-lockout.test.ts.
test('anti-lockout: an SSH_CONNECTION with no such connection in this namespace gets no grant, and a loud warning', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  await l.service(22);
  const r = await l.exec(l.server.ns, 'env', `SSH_CONNECTION=${a.ip4} 50000 ${l.server.ip4} 22`, process.execPath, KNOCKCTL, 'install-ruleset', '-c', DROP);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /anti-lockout:/);
  assert.match(r.stderr, /\*\*\* WARNING: this looks like a remote session \(SSH_CONNECTION names .* but no such connection exists in this network namespace\)[\s\S]*NO anti-lockout grant/);
  assert.deepEqual(await elements(l, 'allowed4'), []);
  assert.equal(await l.connects(a, l.server.ip4, 22), false);
});

test('clear errors: bad config leaves the ruleset untouched (exit 2); missing table and missing nft (exit 1)', { skip }, async (t) => {
  const l = await lab(t);
  const g = await l.knockctl(l.server.ns, 'grant', l.clients[0]!.ip4, '22/tcp', '-c', DROP);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /table inet kt is not installed; run: knockctl install-ruleset/);
  assert.doesNotMatch(g.stderr, /\n\s+at /, 'no stack trace');
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP)).code, 0);
  const before = await l.sh(l.server.ns, 'nft', 'list', 'ruleset');
  const bad = config('bad', 'table: kt\ndoors:\n  ssh: { sequence: ["7000:tcp", "99999"], open: ["22/tcp"] }\n');
  const r = await l.knockctl(l.server.ns, 'install-ruleset', '-c', bad);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /doors\.ssh\.sequence\[1\]: "99999" is not a knock/);
  assert.equal(await l.sh(l.server.ns, 'nft', 'list', 'ruleset'), before);
  const nonft = await l.exec(l.server.ns, 'env', 'PATH=/nonexistent', process.execPath, KNOCKCTL, 'status', '-c', DROP);
  assert.equal(nonft.code, 1);
  assert.match(nonft.stderr, /nft: command not found \(install the nftables package/);
});

test('--dry-run prints the batch and touches nothing; without CAP_NET_ADMIN the error says so', { skip }, async (t) => {
  const l = await lab(t);
  const dry = await l.knockctl(l.server.ns, 'install-ruleset', '-c', DROP, '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  const batch = JSON.parse(dry.stdout) as { nftables: Record<string, unknown>[] };
  assert.ok(batch.nftables.some((c) => JSON.stringify(c).includes('"policy":"drop"')));
  assert.equal((await l.exec(l.server.ns, 'nft', 'list', 'tables')).stdout.trim(), '', 'nothing was installed');
  const open = mkdtempSync(join(tmpdir(), 'knockctl-pub-'));
  const { chmodSync, copyFileSync } = await import('node:fs');
  chmodSync(open, 0o755);
  copyFileSync(DROP, join(open, 'c.yaml'));
  chmodSync(join(open, 'c.yaml'), 0o644);
  const r = await l.exec(l.server.ns, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, KNOCKCTL, 'install-ruleset', '-c', join(open, 'c.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs root or CAP_NET_ADMIN/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
