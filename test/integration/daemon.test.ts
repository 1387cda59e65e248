/**
 * The knock daemon end to end: real capture in a server namespace, real knocks from client
 * namespaces (knockd's own `knock` client), real TCP connects, and the kernel's own expiry.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { knockdKnock, upLab, Lab, KNOCKCTL, skipReason, sleep, type Host } from './support/lab';
import { scratch, sshDoorConfig, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';

const skip = skipReason() ?? (existsSync('/usr/bin/knock') ? undefined : 'knockd\'s knock client is not installed (apt-get install knockd)');

const lab = (t: TestContext, clients = 1): Promise<Lab> => upLab(t, clients);

const knock = knockdKnock;

/** Our own client: `knockctl knock`, argument-compatible with knockd's. */
function knockctlKnock(l: Lab, from: Host, addr: string, ...ports: string[]): Promise<unknown> {
  return l.exec(from.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', addr, ...ports);
}

const door = (dir: string, after = '', timeout = 3): string => sshDoorConfig(dir, { timeout, after });

async function elementCount(l: Lab, set: string): Promise<number> {
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', set)) as { nftables: { set?: { elem?: unknown[] } }[] };
  return j.nftables.find((o) => o.set)?.set?.elem?.length ?? 0;
}

const granted = (d: RunningDaemon, src: string) => d.event('grant', (x) => x.src === src);

test('knockctl knock: a correct knock opens the service for that client only; a wrong order does not; the grant expires by itself', { skip }, async (t) => {
  const l = await lab(t, 2);
  const [a, b] = l.clients as [Host, Host];
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, door(dir));
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'closed before knocking');
  await knockctlKnock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await granted(d, a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'open for the knocking client');
  assert.equal(await l.connects(b, l.server.ip4, 22), false, 'still closed for another client');
  await knock(l, b, l.server.ip4, '8000', '7000', '9000:udp');
  await sleep(500);
  assert.equal(d.count('grant', (x) => x.src === b.ip4), 0, 'a wrong order grants nothing');
  assert.equal(await l.connects(b, l.server.ip4, 22), false);
  await knockctlKnock(l, a, l.server.ip6, '7000', '8000', '9000:udp');
  await granted(d, a.ip6);
  assert.equal(await l.connects(a, l.server.ip6, 22), true, 'IPv6 knock opens for the IPv6 source');
  const stages = d.lines.filter((x) => x.event === 'knock-stage' && x.src === a.ip4).map((x) => x.stage);
  assert.deepEqual(stages, [1, 2], 'the log tells the knockd story: Stage 1, Stage 2, then OPEN SESAME');
  assert.match(String(d.lines.find((x) => x.event === 'grant')?.msg), /OPEN SESAME/);
  assert.equal(d.lines.find((x) => x.nft !== undefined)?.nft, 'libnftables', 'grants go through libnftables in process');
  await sleep(3300);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'the kernel closed it again after the timeout');
  assert.equal(await elementCount(l, 'in4_ssh'), 0);
});

test('knockd\'s own knock client opens a door; SIGKILL after a grant: the grant keeps working and still expires on time', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, door(dir));
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await granted(d, a.ip4);
  d.child.kill('SIGKILL');
  await d.exited();
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the grant outlives the daemon');
  await sleep(3300);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'and expires in the kernel with no process');
  assert.equal(await elementCount(l, 'in4_ssh'), 0);
});

test('knocking again while granted refreshes the timeout and never duplicates; a close door revokes', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, door(dir, `  close:
    sequence: ["9000:tcp", "8000:tcp", "7000:tcp"]
    open: ["22/tcp"]
    action: revoke
`, 60));
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await granted(d, a.ip4);
  await sleep(1100);
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await d.waitFor((x) => x.event === 'grant' && d.count('grant') === 2);
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', 'in4_ssh')) as { nftables: { set?: { elem?: { elem: { expires: number; comment: string } }[] } }[] };
  const els = j.nftables.find((o) => o.set)?.set?.elem ?? [];
  assert.equal(els.length, 1, 'one element, not two');
  assert.equal(els[0]?.elem.comment, 'ssh', 'the door name is the element comment');
  assert.ok(els[0]!.elem.expires >= 59, `refreshed: expires ${els[0]!.elem.expires}`);
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
  await knock(l, a, l.server.ip4, '9000', '8000', '7000');
  await d.event('revoke', (x) => x.src === a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'the close sequence revoked the grant');
  assert.equal(await elementCount(l, 'in4_ssh'), 0);
});

test('SIGHUP swaps in a good config; a bad one is logged and the old one keeps running', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const cfg = door(dir);
  const d = await startDaemon(l, cfg);
  writeConfig(dir, `table: kt\nstate_dir: ${dir}/state\ndoors:\n  ssh:\n    sequence: ["7100", "7200"]\n    open: ["22/tcp"]\n    timeout: 30\n`);
  d.child.kill('SIGHUP');
  await d.event('reload');
  writeFileSync(cfg, `table: kt\ndoors:\n  ssh:\n    sequence: ["7100", "99999"]\n    open: ["22/tcp"]\n`);
  d.child.kill('SIGHUP');
  const failed = await d.event('reload-failed');
  assert.match(JSON.stringify(failed.issues), /doors\.ssh\.sequence\[1\]/);
  // A bad SPA key: reported at its path, its value never logged.
  const badKey = 'base64:bm90LWEtZ29vZC1rZXktYnV0LWEtc2VjcmV0LW9uZS10aGF0LWxlYWtz';
  writeFileSync(cfg, `table: kt\ndoors:\n  spa:\n    spa: { clients: { alice: { key: "${badKey}" } } }\n    open: ["22/tcp"]\n`);
  d.child.kill('SIGHUP');
  await d.event('reload-failed', (x) => JSON.stringify(x.issues).includes('doors.spa.spa.clients.alice.key'));
  const logged = d.lines.map((x) => JSON.stringify(x)).join('\n');
  assert.ok(!logged.includes(badKey) && !logged.includes(badKey.slice(7)), 'the key text is not in the log');
  await knock(l, a, l.server.ip4, '7100', '7200');
  await granted(d, a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the good reloaded config is the one running');
  assert.equal(d.child.exitCode, null, 'still running');
});

test('one-time sequences are valid once, also after a restart; hooks run without a shell', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  writeFileSync(join(dir, 'otp.txt'), '# one per line\n7301,7302\n7401:tcp 7402:udp\n');
  const cfg = writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  otp:
    one_time_sequences: ${dir}/otp.txt
    open: ["22/tcp"]
    timeout: 30
    start_command: ["/usr/bin/touch", "${dir}/opened-%IP%-%PORT%"]
`);
  await l.service(22);
  let d = await startDaemon(l, cfg);
  await knock(l, a, l.server.ip4, '7301', '7302');
  await granted(d, a.ip4);
  await d.event('hook');
  assert.ok(existsSync(join(dir, `opened-${a.ip4}-22`)), 'start_command ran with %IP% and %PORT% substituted');
  assert.equal((await l.knockctl(l.server.ns, 'revoke', a.ip4, '-c', cfg)).code, 0);
  await knock(l, a, l.server.ip4, '7301', '7302');
  await sleep(400);
  assert.equal(d.count('grant'), 1, 'a used sequence opens nothing');
  d.child.kill('SIGTERM');
  assert.equal(await d.exited(), 0, 'SIGTERM exits cleanly');
  d = await startDaemon(l, cfg, false);
  await knock(l, a, l.server.ip4, '7301', '7302');
  await sleep(400);
  assert.equal(d.count('grant'), 0, 'still used after a restart');
  await knock(l, a, l.server.ip4, '7401', '7402:udp');
  await granted(d, a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
  // Renaming the door (and reordering its file) does not make used sequences valid again.
  writeFileSync(join(dir, 'otp.txt'), '7401:tcp 7402:udp\n7301,7302\n');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('  otp:', '  renamed:'));
  d.child.kill('SIGHUP');
  await d.event('reload');
  assert.equal((await l.knockctl(l.server.ns, 'revoke', a.ip4, '-c', cfg)).code, 0);
  await knock(l, a, l.server.ip4, '7301', '7302');
  await knock(l, a, l.server.ip4, '7401', '7402:udp');
  await sleep(400);
  assert.equal(d.count('grant'), 1, 'both sequences stay used under the new door name');
  // A record that cannot be read (here: a directory in its place) fails closed: reload and check-config refuse.
  rmSync(join(dir, 'state', 'onetime.consumed'));
  mkdirSync(join(dir, 'state', 'onetime.consumed'));
  d.child.kill('SIGHUP');
  const failed = await d.event('reload-failed');
  assert.match(JSON.stringify(failed.issues), /record of used one-time sequences/);
  const check = await l.knockctl(l.server.ns, 'check-config', '-c', cfg);
  assert.equal(check.code, 2);
  assert.match(check.stderr, /doors\.renamed\.one_time_sequences: cannot read the record of used one-time sequences/);
});
