/**
 * SPA end to end: `knockctl keygen` keys, `knockctl spa` from a client namespace, the daemon's
 * verification, and replays of a datagram captured off the wire with tcpdump (same source, another
 * source, and after a daemon restart).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { upLab, Lab, KNOCKCTL, skipReason, sleep, waitForLine, type Host } from './support/lab';
import { scratch, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';
import { decodeFrame } from '../../src/packet';

const skip = skipReason() ?? (existsSync('/usr/bin/tcpdump') || existsSync('/usr/sbin/tcpdump') ? undefined : 'tcpdump is not installed');

const lab = (t: TestContext, clients = 2): Promise<Lab> => upLab(t, clients);

/** keygen a client; returns its key file and its server entry text (`{ key: "..." }`). */
async function keygen(l: Lab, dir: string, name: string, ed25519 = false): Promise<{ file: string; entry: string }> {
  const file = join(dir, `${name}.key`);
  const r = await l.exec(l.server.ns, process.execPath, KNOCKCTL, 'keygen', '--name', name, '--out', file, ...(ed25519 ? ['--ed25519'] : []));
  assert.equal(r.code, 0, r.stderr);
  const m = /\{ (key|public_key): "([^"]+)" \}/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { file, entry: `{ ${m[1]}: "${m[2]}" }` };
}

function spa(l: Lab, from: Host, key: string, ...extra: string[]): Promise<{ code: number; stderr: string }> {
  return l.exec(from.ns, process.execPath, KNOCKCTL, 'spa', l.server.ip4, '-k', key, ...extra);
}

/** Capture the next SPA datagram on the server's first veth; returns its UDP payload. */
async function captureNext(l: Lab, dir: string, send: () => Promise<unknown>): Promise<Buffer> {
  const pcap = join(dir, `spa-${Date.now()}.pcap`);
  const td = l.start(l.server.ns, 'tcpdump', ['-i', `${l.id}v1`, '-n', '-U', '-c', '1', '-w', pcap, 'udp dst port 62201']);
  await waitForLine(td, /listening on/, 5000);
  await send();
  await new Promise((r) => td.once('exit', r));
  const b = readFileSync(pcap);
  const linkType = b.readUInt32LE(20);
  const caplen = b.readUInt32LE(24 + 8);
  const frame = b.subarray(24 + 16, 24 + 16 + caplen);
  const d = decodeFrame({ linkType, data: frame, at: Date.now(), ifname: 'pcap' });
  assert.ok(d.ok, 'the captured frame decodes');
  return Buffer.from(d.value.payload);
}

function resend(l: Lab, from: Host, payload: Buffer): Promise<unknown> {
  return l.exec(from.ns, process.execPath, '-e',
    `const s=require('dgram').createSocket('udp4');s.send(Buffer.from('${payload.toString('hex')}','hex'),62201,'${l.server.ip4}',()=>s.close())`);
}

function spaConfig(dir: string, clients: string): string {
  return writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  ssh-spa:
    spa:
      port: 62201
      clients:
${clients}
    open: ["22/tcp", "2222/tcp"]
    timeout: 30
`);
}

test('knockctl spa opens the service for that client; a captured copy re-sent opens nothing, also after a restart', { skip }, async (t) => {
  const l = await lab(t);
  const [alice, mallory] = l.clients as [Host, Host];
  const dir = scratch();
  const k = await keygen(l, dir, 'alice');
  const cfg = spaConfig(dir, `        alice: ${k.entry}`);
  await l.service(22);
  let d: RunningDaemon = await startDaemon(l, cfg);
  assert.equal(await l.connects(alice, l.server.ip4, 22), false);
  const payload = await captureNext(l, dir, () => spa(l, alice, k.file, '-o', '22/tcp'));
  const g = await d.event('grant', (x) => x.src === alice.ip4);
  assert.deepEqual(g.ports, ['22/tcp'], 'only what was asked for');
  assert.equal(await l.connects(alice, l.server.ip4, 22), true);
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);
  assert.equal((await l.knockctl(l.server.ns, 'revoke', alice.ip4, '-c', cfg)).code, 0);
  await resend(l, alice, payload);
  assert.equal((await d.event('spa-reject', (x) => x.src === alice.ip4)).reason, 'replayed', 'same datagram, same source');
  await resend(l, mallory, payload);
  assert.equal((await d.event('spa-reject', (x) => x.src === mallory.ip4)).reason, 'replayed', 'same datagram, another source');
  d.child.kill('SIGKILL');
  await d.exited();
  d = await startDaemon(l, cfg, false);
  await resend(l, mallory, payload);
  assert.equal((await d.event('spa-reject', (x) => x.src === mallory.ip4)).reason, 'replayed', 'the replay cache survived the restart');
  assert.equal(d.count('grant'), 0);
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);
  assert.equal(await l.connects(alice, l.server.ip4, 22), false, 'the revoke stands: the replay reopened nothing');
});

test('an Ed25519 client works; a client with the wrong key and garbage datagrams do not', { skip }, async (t) => {
  const l = await lab(t);
  const [bob, eve] = l.clients as [Host, Host];
  const dir = scratch();
  const kb = await keygen(l, dir, 'bob', true);
  const ke = await keygen(l, dir, 'eve');
  const cfg = spaConfig(dir, `        bob: ${kb.entry}`);
  await l.service(22);
  const d = await startDaemon(l, cfg);
  const r = await spa(l, bob, kb.file);
  assert.equal(r.code, 0, r.stderr);
  const g = await d.event('grant', (x) => x.src === bob.ip4);
  assert.deepEqual(g.ports, ['22/tcp', '2222/tcp'], 'no --open: everything the door allows this client');
  assert.equal(g.client, 'bob');
  assert.equal(await l.connects(bob, l.server.ip4, 22), true);
  assert.equal((await spa(l, eve, ke.file)).code, 0);
  assert.equal((await d.event('spa-reject', (x) => x.src === eve.ip4)).reason, 'unknown-client');
  await resend(l, eve, Buffer.alloc(100, 0x41));
  await resend(l, eve, Buffer.alloc(3, 1));
  await d.waitFor(() => d.count('spa-reject', (x) => x.src === eve.ip4) >= 3);
  assert.equal(await l.connects(eve, l.server.ip4, 22), false);
  assert.equal(d.child.exitCode, null, 'the daemon is still running');
  await sleep(100);
});

test('a key file others can read is refused with a clear message', { skip }, async (t) => {
  const l = await lab(t, 1);
  const dir = scratch();
  const k = await keygen(l, dir, 'carol');
  await l.sh(l.server.ns, 'chmod', '644', k.file);
  const r = await spa(l, l.clients[0]!, k.file);
  assert.equal(r.code, 2, 'a usage error');
  assert.match(r.stderr, /chmod 600/);
});

test('an explicit address needs allow_address; a NAT door grants the prefix around the source', { skip }, async (t) => {
  const l = await lab(t);
  const [alice, bob] = l.clients as [Host, Host];
  const dir = scratch();
  const k = await keygen(l, dir, 'alice');
  await l.service(22);
  const strict = spaConfig(dir, `        alice: ${k.entry}`);
  let d = await startDaemon(l, strict);
  await spa(l, alice, k.file, '--allow', bob.ip4);
  assert.equal((await d.event('spa-reject', (x) => x.src === alice.ip4)).reason, 'address-not-allowed');
  d.child.kill('SIGTERM');
  await d.exited();
  const open = writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  ssh-spa:
    spa:
      allow_address: true
      clients: { alice: ${k.entry} }
    open: ["22/tcp"]
  cgnat:
    spa:
      port: 62202
      nat_prefix: { ipv4: 16 }
      clients: { alice: ${k.entry} }
    open: ["2222/tcp"]
`, 'open.yaml');
  await l.service(2222);
  d = await startDaemon(l, open);
  await spa(l, alice, k.file, '--allow', bob.ip4);
  await d.event('grant', (x) => x.src === bob.ip4 && x.client === 'alice');
  assert.equal(await l.connects(bob, l.server.ip4, 22), true, 'opened for the address alice named');
  assert.equal(await l.connects(alice, l.server.ip4, 22), false, 'and not for alice herself');
  await spa(l, alice, k.file, '-p', '62202');
  const g = await d.event('grant', (x) => x.door === 'cgnat');
  const net = String(g.src);
  assert.match(net, /^10\.\d+\.0\.0\/16$/, `a /16 grant, got ${net}`);
  assert.equal(await l.connects(bob, l.server.ip4, 2222), true, 'another address in the /16 gets in (carrier-grade NAT)');
  const st = JSON.parse((await l.knockctl(l.server.ns, 'status', '-c', open, '--json')).stdout) as { grants: { addr: string; set: string }[] };
  assert.ok(st.grants.some((x) => x.addr === net && x.set === 'in4_cgnat'), 'the prefix is one element of the door\'s own set (an interval set, for nat_prefix)');
});

test('knockctl spa STANZA takes host, port, key and services from the client config', { skip }, async (t) => {
  const l = await lab(t, 1);
  const alice = l.clients[0]!;
  const dir = scratch();
  const k = await keygen(l, dir, 'alice');
  const cfg = spaConfig(dir, `        alice: ${k.entry}`);
  const client = writeConfig(dir, `myserver:\n  host: ${l.server.ip4}\n  port: 62201\n  key_file: ${k.file}\n  name: alice\n  open: ["2222/tcp"]\n`, 'client.yaml');
  await l.service(2222);
  const d = await startDaemon(l, cfg);
  const r = await l.exec(alice.ns, process.execPath, KNOCKCTL, 'spa', 'myserver', '-C', client);
  assert.equal(r.code, 0, r.stderr);
  const g = await d.event('grant', (x) => x.src === alice.ip4);
  assert.deepEqual(g.ports, ['2222/tcp']);
  assert.equal(await l.connects(alice, l.server.ip4, 2222), true);
  const bad = await l.exec(alice.ns, process.execPath, KNOCKCTL, 'spa', 'nosuch', '-C', client);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"nosuch" is not a stanza/);
});
