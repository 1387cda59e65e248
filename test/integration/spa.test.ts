/**
 * SPA end to end: `knockctl keygen` keys, `knockctl spa` from a client namespace, the daemon's
 * verification, and replays of a datagram captured off the wire with tcpdump (same source, another
 * source, and after a daemon restart).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { upLab, Lab, KNOCKCTL, skipReason, sleep, waitForLine, type ExecResult, type Host } from './support/lab';
import { scratch, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';
import { decodeFrame } from '../../src/packet';

const skip = skipReason() ?? (existsSync('/usr/bin/tcpdump') || existsSync('/usr/sbin/tcpdump') ? undefined : 'tcpdump is not installed');

const lab = (t: TestContext, clients = 2): Promise<Lab> => upLab(t, clients);

/**
 * `knockctl keygen -c CONFIG --door DOOR` for each name, on the server (the door may have no clients
 * yet); returns each client's key file and its server entry text (`{ key: "..." }`).
 */
async function keygen(l: Lab, dir: string, names: string[], opts: { ed25519?: string[]; door?: string; cfg?: string } = {}): Promise<Record<string, { file: string; entry: string }>> {
  const cfg = opts.cfg ?? spaConfig(dir, '{}');
  const out: Record<string, { file: string; entry: string }> = {};
  for (const name of names) {
    const file = join(dir, `${name}.key`);
    const ed = opts.ed25519?.includes(name) ? ['--ed25519'] : [];
    const r = await l.exec(l.server.ns, process.execPath, KNOCKCTL, 'keygen', '-c', cfg, '--door', opts.door ?? 'ssh-spa', '-n', name, '-o', file, '--host', l.server.ip4, ...ed);
    assert.equal(r.code, 0, r.stderr);
    const m = /\{ (key|public_key): "([^"]+)" \}/.exec(r.stdout);
    assert.ok(m, r.stdout);
    out[name] = { file, entry: `{ ${m[1]}: "${m[2]}" }` };
  }
  return out;
}

function spa(l: Lab, from: Host, key: string, ...extra: string[]): Promise<ExecResult> {
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

/** One SPA door; `clients` is the mapping's YAML text (`{}` before the first keygen). */
function spaConfig(dir: string, clients: string, opts: { state?: string; spa?: string; extra?: string; name?: string } = {}): string {
  return writeConfig(dir, `table: kt
state_dir: ${opts.state ?? `${dir}/state`}
${opts.extra ?? ''}doors:
  ssh-spa:
    spa:
      port: 62201
${opts.spa ?? ''}      clients: ${clients}
    open: ["22/tcp", "2222/tcp"]
    timeout: 30
`, opts.name);
}

const one = (name: string, k: { entry: string }): string => `{ ${name}: ${k.entry} }`;

test('knockctl spa opens the service for that client; a captured copy re-sent opens nothing, also after a restart', { skip }, async (t) => {
  const l = await lab(t);
  const [alice, mallory] = l.clients as [Host, Host];
  const dir = scratch();
  const k = (await keygen(l, dir, ['alice'])).alice!;
  const cfg = spaConfig(dir, one('alice', k));
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
  const keys = await keygen(l, dir, ['bob', 'eve'], { ed25519: ['bob'] });
  const [kb, ke] = [keys.bob!, keys.eve!];
  const cfg = spaConfig(dir, one('bob', kb));
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
  await resend(l, eve, Buffer.alloc(128, 0x41));
  await resend(l, eve, Buffer.alloc(3, 1));
  await d.waitFor(() => d.count('spa-reject', (x) => x.src === eve.ip4) >= 3);
  assert.deepEqual(d.lines.filter((x) => x.event === 'spa-reject' && x.src === eve.ip4).map((x) => x.reason), ['unknown-client', 'bad-mac', 'too-short']);
  assert.equal(await l.connects(eve, l.server.ip4, 22), false);
  assert.equal(d.child.exitCode, null, 'the daemon is still running');
  await sleep(100);
});

test('a key file others can read is refused with a clear message', { skip }, async (t) => {
  const l = await lab(t, 1);
  const dir = scratch();
  const k = (await keygen(l, dir, ['carol'])).carol!;
  await l.sh(l.server.ns, 'chmod', '644', k.file);
  const r = await spa(l, l.clients[0]!, k.file);
  assert.equal(r.code, 2, 'a usage error');
  assert.match(r.stderr, /chmod 600/);
});

test('an explicit address needs allow_address; a NAT door grants the prefix around the source', { skip }, async (t) => {
  const l = await lab(t);
  const [alice, bob] = l.clients as [Host, Host];
  const dir = scratch();
  const k = (await keygen(l, dir, ['alice'])).alice!;
  await l.service(22);
  const strict = spaConfig(dir, one('alice', k));
  let d = await startDaemon(l, strict);
  await spa(l, alice, k.file, '--allow', bob.ip4);
  assert.equal((await d.event('spa-reject', (x) => x.src === alice.ip4)).reason, 'address-not-allowed');
  d.child.kill('SIGTERM');
  await d.exited();
  const openCfg = (cgnat: string): string => writeConfig(dir, `table: kt
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
      clients: ${cgnat}
    open: ["2222/tcp"]
`, 'open.yaml');
  // A datagram is bound to its door: the cgnat door needs its own key file for alice.
  const kc = (await keygen(l, dir, ['alice-cgnat'], { door: 'cgnat', cfg: openCfg('{}') }))['alice-cgnat']!;
  const open = openCfg(one('alice', kc));
  await l.service(2222);
  d = await startDaemon(l, open);
  await spa(l, alice, k.file, '--allow', bob.ip4);
  await d.event('grant', (x) => x.src === bob.ip4 && x.client === 'alice');
  assert.equal(await l.connects(bob, l.server.ip4, 22), true, 'opened for the address alice named');
  assert.equal(await l.connects(alice, l.server.ip4, 22), false, 'and not for alice herself');
  await spa(l, alice, k.file, '-p', '62202');
  assert.equal((await d.event('spa-reject', (x) => x.src === alice.ip4 && x.door === 'cgnat')).reason, 'bad-mac', 'the ssh-spa key opens no other door');
  await spa(l, alice, kc.file);
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
  const k = (await keygen(l, dir, ['alice'])).alice!;
  const cfg = spaConfig(dir, one('alice', k));
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

test('a datagram captured for server A and replayed to server B (same config, same client) opens nothing there', { skip }, async (t) => {
  const a = await lab(t, 1);
  const b = await lab(t, 1);
  const alice = a.clients[0]!;
  const dir = scratch();
  // Two servers share one config text; each has its own state_dir, so its own SPA identity.
  const k = (await keygen(a, dir, ['alice'], { cfg: spaConfig(dir, '{}', { state: `${dir}/a-state` }) })).alice!;
  const cfgA = spaConfig(dir, one('alice', k), { state: `${dir}/a-state`, name: 'a.yaml' });
  const cfgB = spaConfig(dir, one('alice', k), { state: `${dir}/b-state`, name: 'b.yaml' });
  await a.service(22);
  await b.service(22);
  const da = await startDaemon(a, cfgA);
  const db = await startDaemon(b, cfgB);
  const idA = (await a.knockctl(a.server.ns, 'identity', '-c', cfgA)).stdout;
  const idB = (await b.knockctl(b.server.ns, 'identity', '-c', cfgB)).stdout;
  assert.match(idA, /^server: x25519:/);
  assert.notEqual(idA, idB, 'two servers, two identities');
  const payload = await captureNext(a, dir, () => spa(a, alice, k.file));
  await da.event('grant', (x) => x.src === alice.ip4);
  assert.equal(await a.connects(alice, a.server.ip4, 22), true, 'server A opened');
  await resend(b, b.clients[0]!, payload);
  const r = await db.event('spa-reject');
  assert.equal(r.reason, 'bad-mac', 'server B: not made for it');
  assert.equal(db.count('grant'), 0);
  assert.deepEqual(await grantsOf(b, cfgB), [], 'nothing granted in server B\'s kernel');
  assert.ok((await grantsOf(a, cfgA)).includes(alice.ip4), 'the same status query sees server A\'s grant (the check can fail)');
  assert.equal(await b.connects(b.clients[0]!, b.server.ip4, 22), false);
  // The client is told, before sending, when the host is not the one its key file was made for.
  const mismatch = await a.exec(alice.ns, process.execPath, KNOCKCTL, 'spa', b.server.ip4, '-k', k.file);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /made for door "ssh-spa" of server 10\.\d+\.0\.1 \(identity [0-9a-f]{16}\), and 10\.\d+\.0\.1 is not that host/);
});

/** The addresses with a grant, as `knockctl status --json` reads them from the kernel's sets. */
async function grantsOf(l: Lab, cfg: string): Promise<string[]> {
  const r = await l.knockctl(l.server.ns, 'status', '-c', cfg, '--json');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { grants: { addr: string }[] }).grants.map((g) => g.addr);
}

test('require_address: a datagram without the sender\'s address is refused; -a with it and -R URL are accepted; a copy from elsewhere opens nothing', { skip }, async (t) => {
  const l = await lab(t, 2);
  const [alice, mallory] = l.clients as [Host, Host];
  const dir = scratch();
  // The key is made before the door requires the address, so the key file does not say so.
  const k = (await keygen(l, dir, ['alice'])).alice!;
  const cfg = spaConfig(dir, one('alice', k), { spa: '      require_address: true\n', extra: 'base:\n  allow: ["8080/tcp", "8081/tcp"]\n' });
  await l.service(22);
  const d = await startDaemon(l, cfg);
  assert.equal((await spa(l, alice, k.file)).code, 0);
  assert.equal((await d.event('spa-reject', (x) => x.src === alice.ip4)).reason, 'address-required');
  assert.equal(await l.connects(alice, l.server.ip4, 22), false);
  // Built by alice with her address, not sent; mallory re-sends the bytes from her own address.
  const saved = join(dir, 'alice.spa');
  const built = await spa(l, alice, k.file, '-a', alice.ip4, '--test', '--save-packet', saved);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, new RegExp(`address: +${alice.ip4.replace(/\./g, '\\.')}`));
  await resend(l, mallory, readFileSync(saved));
  assert.equal((await d.event('spa-reject', (x) => x.src === mallory.ip4)).reason, 'address-mismatch');
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);
  assert.equal((await spa(l, alice, k.file, '-a', alice.ip4)).code, 0);
  await d.event('grant', (x) => x.src === alice.ip4);
  assert.equal(await l.connects(alice, l.server.ip4, 22), true, '-a with the source address');
  assert.equal((await l.knockctl(l.server.ns, 'revoke', alice.ip4, '-c', cfg)).code, 0);
  // -R URL: a local "what is my address" service in the server namespace answers with the caller's address.
  const web = l.start(l.server.ns, process.execPath, ['-e',
    "require('http').createServer((q,s)=>s.end('your address is '+q.socket.remoteAddress.replace(/^::ffff:/,'')+'\\n')).listen(8080,()=>console.log('listening'))"]);
  await waitForLine(web, /listening/, 5000);
  const viaUrl = await spa(l, alice, k.file, '-R', `http://${l.server.ip4}:8080/`, '-v');
  assert.equal(viaUrl.code, 0, viaUrl.stderr);
  assert.match(viaUrl.stderr, new RegExp(`public address from .*: ${alice.ip4.replace(/\./g, '\\.')}`));
  await d.waitFor(() => d.count('grant', (x) => x.src === alice.ip4) >= 2);
  assert.equal(await l.connects(alice, l.server.ip4, 22), true, '-R URL');
  const bad = await spa(l, alice, k.file, '-R', `http://${l.server.ip4}:8081/`);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /cannot fetch http:\/\/.*:8081\/: ECONNREFUSED/);
});

test('an Ed25519 client with its own key appends `knockctl identity` to its key file; --time-offset moves its clock', { skip }, async (t) => {
  const l = await lab(t, 1);
  const bob = l.clients[0]!;
  const dir = scratch();
  const key = join(dir, 'bob.key');
  const made = await l.exec(bob.ns, process.execPath, KNOCKCTL, 'keygen', '--ed25519', '-n', 'bob', '-o', key);
  assert.equal(made.code, 0, made.stderr);
  const entry = /bob: (\{ public_key: "[^"]+" \})/.exec(made.stdout)?.[1];
  assert.ok(entry, made.stdout);
  const cfg = spaConfig(dir, `{ bob: ${entry} }`);
  await l.service(22);
  const d = await startDaemon(l, cfg);
  const noTarget = await spa(l, bob, key);
  assert.equal(noTarget.code, 2);
  assert.match(noTarget.stderr, /does not say which server and door it is for: append the lines 'knockctl identity/);
  const id = await l.knockctl(l.server.ns, 'identity', '-c', cfg, '--door', 'ssh-spa');
  assert.equal(id.code, 0, id.stderr);
  appendFileSync(key, id.stdout);
  assert.equal((await spa(l, bob, key, '--time-offset', '+10m')).code, 0);
  assert.equal((await d.event('spa-reject', (x) => x.src === bob.ip4)).reason, 'future', 'a clock 10 minutes ahead');
  assert.equal((await spa(l, bob, key)).code, 0);
  await d.event('grant', (x) => x.src === bob.ip4 && x.client === 'bob');
  assert.equal(await l.connects(bob, l.server.ip4, 22), true);
});

test('a datagram near the v2 maximum (over 700 bytes: many long services asked for) is captured whole and opens them all', { skip }, async (t) => {
  const l = await lab(t, 1);
  const alice = l.clients[0]!;
  const dir = scratch();
  // Forwarded services with long IPv6 targets: the request's text, not the door count, sets the length.
  const services = Array.from({ length: 14 }, (_, i) => `[fd00:1234:5678:9abc:def0:1234:5678:${(i + 1).toString(16)}]:${20001 + i}/tcp`);
  const bigConfig = (clients: string): string => writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  ssh-spa:
    spa: { port: 62201, clients: ${clients} }
    open: ${JSON.stringify(services)}
    timeout: 30
`);
  const k = (await keygen(l, dir, ['alice'], { cfg: bigConfig('{}') })).alice!;
  const d = await startDaemon(l, bigConfig(one('alice', k)));
  // Over IPv6, as the services are IPv6 ones (the key file names the server's IPv4 address: --any-host).
  const send = (): Promise<ExecResult> => l.exec(alice.ns, process.execPath, KNOCKCTL, 'spa', l.server.ip6, '-k', k.file, '--any-host', '-o', ...services);
  const payload = await captureNext(l, dir, send);
  assert.ok(payload.length > 700, `the datagram is ${payload.length} bytes: longer than the 512-byte payload the capture once kept`);
  const g = await d.event('grant', (x) => x.src === alice.ip6);
  assert.deepEqual([...(g.ports as string[])].sort(), [...services].sort(), 'every service asked for');
  assert.equal(d.count('spa-reject'), 0);
});
