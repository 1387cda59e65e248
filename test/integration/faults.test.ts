/**
 * Faults, end to end in namespaces: the daemon killed mid-grant, our table deleted or flushed under
 * it, nft failing, a state_dir that cannot be written, spoofed knocks, and 50 clients at once.
 * Each test makes its own namespaces and stays within a few seconds.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { knockdKnock, upLab, KNOCKCTL, Lab, skipReason, sleep, type Host } from './support/lab';
import { RunningDaemon, scratch, startDaemon, writeConfig } from './support/daemon';
import { buildSpaPacket, formatIdentityFile, generateIdentity, serverEntryOf, type SpaClientKey } from '../../src/spa';

const skip = skipReason() ?? (existsSync('/usr/bin/knock') ? undefined : 'knockd\'s knock client is not installed (apt-get install knockd)');
const SPA_PORT = 62201;
const ALICE: SpaClientKey = { type: 'aead', key: Uint8Array.from(createHash('sha256').update('faults test alice').digest()) };
/** The server's SPA identity, placed in state_dir before the daemon starts, so datagrams can be built here. */
const SERVER = generateIdentity();

const lab = (t: TestContext, clients = 1): Promise<Lab> => upLab(t, clients);

const knock = knockdKnock;

/** A knock door and an SPA door, both opening 22/tcp for `timeout` seconds. */
function config(dir: string, opts: { timeout?: number; stateDir?: string; extra?: string } = {}): string {
  const key = (serverEntryOf(ALICE) as { key: string }).key;
  const state = opts.stateDir ?? `${dir}/state`;
  mkdirSync(state, { recursive: true, mode: 0o700 });
  writeFileSync(join(state, 'spa-identity'), formatIdentityFile(SERVER), { mode: 0o600 });
  return writeConfig(dir, `table: kt
state_dir: ${opts.stateDir ?? `${dir}/state`}
${opts.extra ?? ''}
doors:
  ssh:
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 5
    open: ["22/tcp"]
    timeout: ${opts.timeout ?? 3}
  ssh-spa:
    spa:
      port: ${SPA_PORT}
      clients: { alice: { key: "${key}" } }
    open: ["22/tcp"]
    timeout: ${opts.timeout ?? 3}
`);
}

/** Send `bytes` as one UDP datagram from a client namespace, optionally from another local address. */
async function sendUdp(l: Lab, from: Host, to: string, port: number, bytes: Uint8Array, srcAddr?: string): Promise<void> {
  const hex = Buffer.from(bytes).toString('hex');
  const bind = srcAddr ? `s.bind({address:${JSON.stringify(srcAddr)}},go)` : 'go()';
  const code = `const s=require('dgram').createSocket('udp4');function go(){s.send(Buffer.from('${hex}','hex'),${port},${JSON.stringify(to)},(e)=>{s.close();if(e){console.error(e);process.exit(1)}})}${bind}`;
  const r = await l.exec(from.ns, process.execPath, '-e', code);
  if (r.code !== 0) throw new Error(`udp send failed: ${r.stderr}`);
}

function spaPacket(): Uint8Array {
  return buildSpaPacket({ key: ALICE, server: SERVER.pub, door: 'ssh-spa', nowMs: Date.now() });
}

/** Source addresses in a set: by default the knock door's own IPv4 set (each door has its own sets). */
async function elements(l: Lab, set = 'in4_ssh'): Promise<string[]> {
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', set)) as { nftables: { set?: { elem?: { elem: { val: { concat: [string] } } }[] } }[] };
  return (j.nftables.find((o) => o.set)?.set?.elem ?? []).map((e) => e.elem.val.concat[0]);
}

/** The daemon started with an arbitrary command line in the server namespace (PATH games, mounts). */
async function startWith(l: Lab, cmd: string, args: string[]): Promise<RunningDaemon> {
  const d = new RunningDaemon(l.start(l.server.ns, cmd, args));
  await d.event('start', undefined, 8000);
  return d;
}

test('SIGKILL right after an SPA accept and mid-grant: grants expire in the kernel; the replay cache survives the restart', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const cfg = config(dir);
  const d = await startDaemon(l, cfg);
  const packet = spaPacket();
  await sendUdp(l, a, l.server.ip4, SPA_PORT, packet);
  await d.event('spa-accept', (x) => x.src === a.ip4);
  d.child.kill('SIGKILL');
  await d.exited();
  // The grant may or may not have reached nft before the kill; the nonce was fsync'd before accept.
  const d2 = await startDaemon(l, cfg, false);
  t.after(() => void d2.child.kill('SIGKILL'));
  assert.equal(d2.count('replay-state', (x) => x.lost === true), 0, 'replay state loaded, not lost');
  await sendUdp(l, a, l.server.ip4, SPA_PORT, packet);
  const rej = await d2.event('spa-reject', (x) => x.src === a.ip4);
  assert.equal(rej.reason, 'replayed', 'the same datagram after the restart is a replay');
  // A knock, then SIGKILL as soon as the sequence completes: the grant is in flight.
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await d2.event('knock-success', (x) => x.src === a.ip4);
  d2.child.kill('SIGKILL');
  await d2.exited();
  await sleep(3300);
  assert.deepEqual(await elements(l), [], 'whatever was granted expired with no daemon running');
  assert.deepEqual(await elements(l, 'in4_ssh-spa'), [], 'the SPA door\'s grants too');
  assert.equal(await l.connects(a, l.server.ip4, 22), false);
});

test('our table deleted while the daemon runs: the next grant finds it missing, it is reinstalled, the knock works', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, config(dir, { timeout: 30 }));
  await l.sh(l.server.ns, 'nft', 'delete', 'table', 'inet', 'kt');
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  const missing = await d.event('ruleset-missing');
  assert.equal(missing.state, 'missing');
  assert.equal(missing.action, 'reinstall');
  await d.event('ruleset-installed');
  await d.event('grant', (x) => x.src === a.ip4);
  assert.deepEqual(await elements(l), [a.ip4]);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the knock after the reinstall opens the service');
});

test('our table flushed (rules gone, sets kept): the periodic check finds it damaged and reinstalls it, grants kept', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, config(dir, { timeout: 30 }));
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await d.event('grant', (x) => x.src === a.ip4);
  await l.sh(l.server.ns, 'nft', 'flush', 'table', 'inet', 'kt');
  assert.equal(await l.connects(a, l.server.ip4, 22), false, 'a flushed table drops everything: policy drop, no rules');
  const missing = await d.event('ruleset-missing', undefined, 7000);
  assert.equal(missing.state, 'damaged');
  assert.equal(missing.trigger, 'check');
  const inst = await d.event('ruleset-installed');
  assert.equal(inst.kept, 1, 'the grant in the set is carried over');
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'access works again without a new knock');
});

test('on_ruleset_missing: log: the deletion is surfaced once, not undone; grants fail with a clear reason; the daemon keeps running', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  const d = await startDaemon(l, config(dir, { extra: 'on_ruleset_missing: log' }));
  await l.sh(l.server.ns, 'nft', 'delete', 'table', 'inet', 'kt');
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  const missing = await d.event('ruleset-missing');
  assert.equal(missing.action, 'log');
  const failed = await d.event('grant-failed', (x) => x.src === a.ip4, 6000);
  assert.match(String(failed.reason), /not installed/);
  assert.equal(d.count('ruleset-installed'), 0);
  assert.equal(d.count('ruleset-missing'), 1, 'one line per episode');
  assert.equal((await l.exec(l.server.ns, 'nft', 'list', 'table', 'inet', 'kt')).code, 1, 'the table stays deleted');
  assert.equal(d.child.exitCode, null, 'still running');
});

/** A PATH holding only an `nft` wrapper: fails with EPERM's message while FLAG exists, gone when removed. */
function nftWrapper(dir: string): { bin: string; flag: string; nft: string } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const flag = join(dir, 'nft-fails');
  const nft = join(bin, 'nft');
  writeFileSync(nft, `#!/bin/sh\nif [ -e ${flag} ]; then echo "Error: Could not process rule: Operation not permitted" >&2; exit 1; fi\nexec /usr/sbin/nft "$@"\n`);
  chmodSync(nft, 0o755);
  return { bin, flag, nft };
}

/** A daemon whose `nft` is the wrapper above (process transport: the binary is what breaks). */
async function daemonWithWrappedNft(t: TestContext): Promise<{ l: Lab; a: Host; dir: string; w: ReturnType<typeof nftWrapper>; d: RunningDaemon }> {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const cfg = config(dir, { timeout: 30 });
  const w = nftWrapper(dir);
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', cfg)).code, 0);
  const d = await startWith(l, 'env', ['KNOCKCTL_NFT=process', `PATH=${w.bin}:/usr/bin:/bin`, process.execPath, KNOCKCTL, 'daemon', '-c', cfg]);
  return { l, a, dir, w, d };
}

test('nft failing with "Operation not permitted": logged with nft\'s message, retried with backoff; the grant lands when nft recovers', { skip }, async (t) => {
  const { l, a, dir, w, d } = await daemonWithWrappedNft(t);
  writeFileSync(w.flag, '');
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  const err = await d.event('nft-error', (x) => x.retry === true);
  assert.match(String(err.reason), /Operation not permitted/);
  assert.equal(err.code, 'ERR_NFT_PERMISSION');
  await sleep(600);
  rmSync(w.flag);
  await d.event('grant', (x) => x.src === a.ip4, 5000);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the request was not lost');
  assert.equal(d.child.exitCode, null);
});

test('nft missing from PATH for longer than the retries: grant-failed names the cause; the daemon runs on and the next knock works', { skip }, async (t) => {
  const { l, a, dir, w, d } = await daemonWithWrappedNft(t);
  rmSync(w.nft);
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  const failed = await d.event('grant-failed', (x) => x.src === a.ip4, 6000);
  assert.match(String(failed.reason), /command not found/);
  assert.ok(d.count('nft-error', (x) => x.code === 'ERR_NFT_MISSING') >= 5, 'every attempt logged');
  nftWrapper(dir);
  await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
  await d.event('grant', (x) => x.src === a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
  assert.equal(d.child.exitCode, null);
});

// A state_dir that cannot be written at start is refused (check-config and the daemon say so at its
// line); these faults come later, so the read-only remount happens once the daemon runs.
for (const [label, prepare, later] of [
  ['read-only (a read-only bind mount)', (s: string) => `mount --bind ${s} ${s}`, (s: string) => ['mount', '-o', 'remount,ro,bind', s]],
  ['full (a 4 KiB tmpfs, filled)', (s: string) => `cp ${s}/spa-identity ${s}.id && mount -t tmpfs -o size=4k,mode=0700 tmpfs ${s} && cp ${s}.id ${s}/spa-identity && (head -c 65536 /dev/zero > ${s}/fill 2>/dev/null; true)`, undefined],
] as const) {
  test(`state_dir ${label}: SPA fails closed and says so; knocks still work`, { skip }, async (t) => {
    const l = await lab(t);
    const a = l.clients[0]!;
    const dir = scratch();
    const state = join(dir, 'state');
    mkdirSync(state, { recursive: true });
    await l.service(22);
    const cfg = config(dir, { timeout: 30 });
    assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', cfg)).code, 0);
    // A private mount namespace: the mount is seen by this daemon only and goes away with it.
    const d = await startWith(l, 'unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${prepare(state)} && exec ${process.execPath} ${KNOCKCTL} daemon -c ${cfg}`]);
    if (later) {
      // unshare and sh exec in place: the child's pid is the daemon, in its private mount namespace.
      const r = await l.exec(l.server.ns, 'nsenter', '-t', String(d.child.pid), '-m', ...later(state));
      assert.equal(r.code, 0, r.stderr);
    }
    await sendUdp(l, a, l.server.ip4, SPA_PORT, spaPacket());
    const e = await d.event('replay-state', (x) => x.src === a.ip4);
    assert.match(String(e.reason), label.startsWith('read-only') ? /EROFS|read-only/i : /ENOSPC|no space/i);
    await sleep(300);
    assert.equal(d.count('grant'), 0, 'no grant without a durable nonce');
    assert.deepEqual(await elements(l, 'in4_ssh-spa'), []);
    await knock(l, a, l.server.ip4, '7000', '8000', '9000:udp');
    await d.event('grant', (x) => x.src === a.ip4 && x.via === 'knock');
    assert.equal(await l.connects(a, l.server.ip4, 22), true, 'knocks need no state file');
  });
}

test('spoofed packets from the client\'s own address reset its knock attempt; SPA from that address is not disturbed', { skip }, async (t) => {
  const l = await lab(t, 2);
  const [a, m] = l.clients as [Host, Host];
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, config(dir, { timeout: 30 }));
  // The attacker (m) sends with a's address: a /32 on its loopback and a bound socket.
  await l.sh(m.ns, 'ip', 'addr', 'add', `${a.ip4}/32`, 'dev', 'lo');
  await knock(l, a, l.server.ip4, '7000');
  await d.event('knock-stage', (x) => x.src === a.ip4 && x.stage === 1);
  await sendUdp(l, m, l.server.ip4, 9000, new Uint8Array([0]), a.ip4);
  await d.event('knock-reset', (x) => x.src === a.ip4);
  await knock(l, a, l.server.ip4, '8000', '9000:udp');
  await sleep(400);
  assert.equal(d.count('grant', (x) => x.src === a.ip4), 0, 'the spoofed packet cost the client its attempt');
  // SPA: spoofed garbage and a spoofed replay of nothing cannot touch a's one datagram.
  for (let i = 0; i < 5; i++) await sendUdp(l, m, l.server.ip4, SPA_PORT, new Uint8Array(100).fill(i), a.ip4);
  await sendUdp(l, a, l.server.ip4, SPA_PORT, spaPacket());
  await d.event('grant', (x) => x.src === a.ip4 && x.via === 'spa');
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
});

// A burst from 50 sources (150 frames at once) used to overflow a 1 MiB capture ring (~15 frames of
// 64 KiB each, when the `cap` package used before koffi fixed the snap length at 65,535): see
// capture-size.ts and limits.capture_ring.
test('50 clients knocking at once all get access, in a few nft batches', { skip }, async (t) => {
  const l = await lab(t);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const cfg = writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  udp:
    sequence: ["7000:udp", "8000:udp", "9000:udp"]
    seq_timeout: 5
    open: ["22/tcp"]
    timeout: 30
`);
  const d = await startDaemon(l, cfg);
  const net = a.ip4.split('.').slice(0, 3).join('.');
  const addrs = Array.from({ length: 50 }, (_, i) => `${net}.${10 + i}`);
  for (const x of addrs) await l.sh(a.ns, 'ip', 'addr', 'add', `${x}/24`, 'dev', `${l.id}w1`);
  // Resolve the gateway first: 50 first datagrams queued behind one ARP request overflow the
  // neighbour queue (unres_qlen), which would test the kernel, not us.
  await l.exec(a.ns, 'ping', '-c', '1', '-W', '1', l.server.ip4);
  const code = `const dgram=require('dgram');const addrs=${JSON.stringify(addrs)};let left=addrs.length;
for(const a of addrs){const s=dgram.createSocket('udp4');s.bind({address:a},async()=>{for(const p of [7000,8000,9000]){await new Promise(r=>s.send(Buffer.from('k'),p,${JSON.stringify(l.server.ip4)},r));await new Promise(r=>setTimeout(r,20))}s.close();if(--left===0)process.exit(0)})}`;
  const r = await l.exec(a.ns, process.execPath, '-e', code);
  assert.equal(r.code, 0, r.stderr);
  await d.waitFor(() => d.count('grant') >= 50, 5000, '50 grants');
  const granted = new Set(d.lines.filter((x) => x.event === 'grant').map((x) => String(x.src)));
  assert.deepEqual([...granted].sort(), [...addrs].sort());
  assert.deepEqual((await elements(l, 'in4_udp')).sort(), [...addrs].sort(), 'all 50 in the kernel set');
  const batches = new Set(d.lines.filter((x) => x.event === 'grant').map((x) => x.batch));
  t.diagnostic(`50 grants in ${batches.size} nft batch(es)`);
  assert.ok(batches.size <= 25, `${batches.size} batches for 50 grants`);
  const connect = `const net=require('net');const addrs=${JSON.stringify(addrs)};let ok=0,left=addrs.length;
for(const a of addrs){const s=net.connect({host:${JSON.stringify(l.server.ip4)},port:22,localAddress:a});const t=setTimeout(()=>s.destroy(),1500);
s.on('data',()=>{ok++;s.destroy()});s.on('close',()=>{clearTimeout(t);if(--left===0){console.log(ok);process.exit(0)}});s.on('error',()=>{})}`;
  const c = await l.exec(a.ns, process.execPath, '-e', connect);
  assert.equal(c.stdout.trim(), '50', 'every one of the 50 connects');
});
