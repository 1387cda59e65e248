/**
 * fwknop clients unchanged: Debian's fwknop client (2.6.10) with keys from `fwknop --key-gen`, a door
 * imported from an access.conf with `knockctl import-fwknop`, real TCP connects through the ruleset.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { upLab, type Host, type Lab, skipReason, sleep, waitForLine } from './support/lab';
import { scratch, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';
import { upRouterLab } from './support/router-lab';

const FWKNOP = '/usr/bin/fwknop';
const skip = skipReason() ?? (existsSync(FWKNOP) ? undefined : 'the fwknop client is not installed (apt-get install fwknop-client)');

interface Keys {
  key: string;
  hmac: string;
}

/** `fwknop --key-gen`, as an admin makes keys for a user. */
async function keyGen(l: Lab, home: string): Promise<Keys> {
  const r = await l.exec(l.server.ns, 'env', `HOME=${home}`, FWKNOP, '--key-gen', '--no-rc-file', '--no-save-args');
  assert.equal(r.code, 0, r.stderr);
  const key = /^KEY_BASE64: (\S+)$/m.exec(r.stdout)?.[1];
  const hmac = /^HMAC_KEY_BASE64: (\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(key && hmac, r.stdout);
  return { key, hmac };
}

/** The fwknop client in a namespace, its own HOME; `-B FILE` keeps a copy of the datagram it sends. */
function fwknop(l: Lab, from: Host, home: string, ...args: string[]) {
  return l.exec(from.ns, 'env', `HOME=${home}`, FWKNOP, '--no-save-args', ...args);
}

function withKeys(k: Keys): string[] {
  return ['--key-base64-rijndael', k.key, '--key-base64-hmac', k.hmac, '--use-hmac'];
}

function resend(l: Lab, from: Host, payload: Buffer): Promise<unknown> {
  return l.exec(from.ns, process.execPath, '-e',
    `const s=require('dgram').createSocket('udp4');s.send(Buffer.from('${payload.toString('hex')}','hex'),62201,'${l.server.ip4}',()=>s.close())`);
}

/** access.conf → import-fwknop -o → our table and state dir appended; returns the config path. */
async function importedConfig(l: Lab, dir: string, access: string): Promise<string> {
  writeFileSync(join(dir, 'access.conf'), access);
  const out = join(dir, 'config.yaml');
  const r = await l.knockctl(l.server.ns, 'import-fwknop', join(dir, 'access.conf'), '-o', out);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(out, `${readFileSync(out, 'utf8')}table: kt\nstate_dir: ${dir}/state\n`);
  mkdirSync(join(dir, 'state'), { recursive: true });
  return out;
}

async function lab(t: TestContext, clients: number): Promise<{ l: Lab; dir: string }> {
  const l = await upLab(t, clients);
  await l.service(22);
  return { l, dir: scratch() };
}

test('a door imported from access.conf opens for the fwknop client (-a, and -n with a .fwknoprc stanza), not for others; replays open nothing, also after a restart', { skip }, async (t) => {
  const { l, dir } = await lab(t, 3);
  const [alice, bob, mallory] = l.clients as [Host, Host, Host];
  const k = await keyGen(l, dir);
  const cfg = await importedConfig(l, dir, `SOURCE ANY\nKEY_BASE64 ${k.key}\nHMAC_KEY_BASE64 ${k.hmac}\nOPEN_PORTS tcp/22\nREQUIRE_SOURCE_ADDRESS Y\n`);
  let d: RunningDaemon = await startDaemon(l, cfg);
  assert.equal(await l.connects(alice, l.server.ip4, 22), false, 'closed before');

  const saved = join(dir, 'alice.spa');
  const r = await fwknop(l, alice, dir, '--no-rc-file', '-A', 'tcp/22', '-a', alice.ip4, '-D', l.server.ip4, ...withKeys(k), '-B', saved);
  assert.equal(r.code, 0, r.stderr);
  const g = await d.event('grant', (x) => x.src === alice.ip4);
  assert.deepEqual(g.ports, ['22/tcp']);
  assert.equal(g.client, 'stanza-1');
  assert.equal(await l.connects(alice, l.server.ip4, 22), true, 'alice is in');
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false, 'another address is not');

  // A .fwknoprc stanza, as fwknop users keep them; -n names it.
  const bobHome = join(dir, 'bob');
  mkdirSync(bobHome);
  const rc = join(bobHome, '.fwknoprc');
  writeFileSync(rc, `[myserver]\nSPA_SERVER ${l.server.ip4}\nACCESS tcp/22\nALLOW_IP ${bob.ip4}\nKEY_BASE64 ${k.key}\nHMAC_KEY_BASE64 ${k.hmac}\nUSE_HMAC Y\n`);
  chmodSync(rc, 0o600);
  const rb = await fwknop(l, bob, bobHome, '-n', 'myserver');
  assert.equal(rb.code, 0, rb.stderr);
  await d.event('grant', (x) => x.src === bob.ip4);
  assert.equal(await l.connects(bob, l.server.ip4, 22), true, 'bob is in through his .fwknoprc stanza');
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);

  // The captured datagram, re-sent: from alice after a revoke, from mallory, and after a restart.
  const payload = Buffer.from(readFileSync(saved, 'utf8').trim(), 'latin1');
  assert.equal((await l.knockctl(l.server.ns, 'revoke', alice.ip4, '-c', cfg)).code, 0);
  await resend(l, mallory, payload);
  assert.equal((await d.event('spa-reject', (x) => x.src === mallory.ip4)).reason, 'replayed', 'from another address');
  d.child.kill('SIGKILL');
  await d.exited();
  d = await startDaemon(l, cfg, false);
  await resend(l, alice, payload);
  assert.equal((await d.event('spa-reject', (x) => x.src === alice.ip4)).reason, 'replayed', 'the digest survived the restart');
  assert.equal(d.count('grant'), 0);
  assert.equal(await l.connects(alice, l.server.ip4, 22), false, 'the revoke stands');
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);
  const set = JSON.stringify(await l.nftJson(l.server.ns, 'set', 'inet', 'kt', 'in4_fwknop'));
  assert.ok(set.includes(bob.ip4) && !set.includes(mallory.ip4) && !set.includes(alice.ip4), set);
});

test('-s is refused where REQUIRE_SOURCE_ADDRESS is Y and accepted where it is not; a wrong HMAC key and garbage open nothing', { skip }, async (t) => {
  const { l, dir } = await lab(t, 2);
  const [alice, eve] = l.clients as [Host, Host];
  const strict = await keyGen(l, dir);
  const loose = await keyGen(l, dir);
  const cfg = await importedConfig(l, dir, `SOURCE ANY\nKEY_BASE64 ${strict.key}\nHMAC_KEY_BASE64 ${strict.hmac}\nOPEN_PORTS tcp/22\nREQUIRE_SOURCE_ADDRESS Y\n\n`
    + `SOURCE ANY\nKEY_BASE64 ${loose.key}\nHMAC_KEY_BASE64 ${loose.hmac}\nOPEN_PORTS tcp/22\n`);
  const d = await startDaemon(l, cfg);
  const send = (from: Host, k: Keys, ...a: string[]) => fwknop(l, from, dir, '--no-rc-file', '-A', 'tcp/22', '-D', l.server.ip4, ...withKeys(k), ...a);

  assert.equal((await send(alice, strict, '-s')).code, 0);
  const rej = await d.event('spa-reject', (x) => x.src === alice.ip4);
  assert.equal(rej.reason, 'address-required');
  assert.equal(await l.connects(alice, l.server.ip4, 22), false, '-s opened nothing');

  const eveKeys: Keys = { key: strict.key, hmac: (await keyGen(l, dir)).hmac };
  assert.equal((await send(eve, eveKeys, '-a', eve.ip4)).code, 0);
  assert.equal((await d.event('spa-reject', (x) => x.src === eve.ip4)).reason, 'bad-hmac', 'the right key with a wrong HMAC key');
  await resend(l, eve, Buffer.from('A'.repeat(180)));
  await resend(l, eve, Buffer.alloc(300, 0xfe));
  await resend(l, eve, Buffer.alloc(3, 1));
  await d.waitFor(() => d.count('spa-reject', (x) => x.src === eve.ip4) >= 4, 5000, 'four rejections of eve');
  assert.equal(await l.connects(eve, l.server.ip4, 22), false);
  assert.equal(d.child.exitCode, null, 'the daemon is still running');

  assert.equal((await send(alice, loose, '-s')).code, 0);
  await d.event('grant', (x) => x.src === alice.ip4 && x.client === 'stanza-2');
  assert.equal(await l.connects(alice, l.server.ip4, 22), true, '-s through the stanza without REQUIRE_SOURCE_ADDRESS');
  await sleep(50);
});

test('-R: the client learns its address from a URL (here a server in the lab) and a REQUIRE_SOURCE_ADDRESS stanza opens for it', { skip }, async (t) => {
  const { l, dir } = await lab(t, 2);
  const [alice, mallory] = l.clients as [Host, Host];
  const k = await keyGen(l, dir);
  const cfg = await importedConfig(l, dir, `SOURCE ANY\nKEY_BASE64 ${k.key}\nHMAC_KEY_BASE64 ${k.hmac}\nOPEN_PORTS tcp/22\nREQUIRE_SOURCE_ADDRESS Y\n`);
  // What "what is my IP" services answer: the address the request came from, as plain text.
  const web = l.start(l.server.ns, process.execPath, ['-e',
    "require('http').createServer((q,r)=>{r.end(q.socket.remoteAddress.replace(/^::ffff:/,'')+'\\n')}).listen(8080,'0.0.0.0',()=>console.log('ready'))"]);
  await waitForLine(web, /ready/, 5000);
  const d = await startDaemon(l, cfg);
  const r = await fwknop(l, alice, dir, '--no-rc-file', '-A', 'tcp/22', '-R', '--resolve-url', `http://${l.server.ip4}:8080/myip`, '--resolve-http-only', '-D', l.server.ip4, ...withKeys(k));
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const g = await d.event('grant', (x) => x.src === alice.ip4);
  assert.deepEqual(g.ports, ['22/tcp']);
  assert.equal(await l.connects(alice, l.server.ip4, 22), true);
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);
});

test('NAT access through a router door: fwknop -A tcp/2222 -N LANHOST:22 gets the port forward 2222/tcp=>LANHOST:22, for that client only', { skip }, async (t) => {
  const { lab: l, outside, lan } = await upRouterLab(t);
  const [a, b] = outside as [Host, Host];
  const dir = scratch();
  await l.service(22, lan.ns);
  const k = await keyGen(l, dir);
  const fwd = `2222/tcp=>${lan.ip4}:22`;
  const cfg = writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  fw:
    spa:
      format: fwknop
      clients:
        nat: { key: "base64:${k.key}", hmac_key: "base64:${k.hmac}", open: ["${fwd}"] }
    open: ["22/tcp", "${fwd}"]
    timeout: 30
`);
  const d = await startDaemon(l, cfg);
  assert.equal(await l.connects(a, l.server.ip4, 2222), false, 'the port forward is closed before');
  const send = (from: Host, ...args: string[]) => fwknop(l, from, dir, '--no-rc-file', '-D', l.server.ip4, '-a', from.ip4, ...withKeys(k), ...args);
  assert.equal((await send(a, '-A', 'tcp/22')).code, 0);
  assert.equal((await d.event('spa-reject', (x) => x.src === a.ip4)).reason, 'access-denied', 'the stanza may open only the forward');
  const r = await send(a, '-A', 'tcp/2222', '-N', `${lan.ip4}:22`);
  assert.equal(r.code, 0, r.stderr);
  const g = await d.event('grant', (x) => x.src === a.ip4);
  assert.deepEqual(g.ports, [fwd]);
  assert.equal(await l.connects(a, l.server.ip4, 2222), true, 'through the port forward to the LAN host');
  assert.equal(await l.connects(b, l.server.ip4, 2222), false, 'not for another client');
  assert.ok((JSON.stringify(await l.nftJson(l.server.ns, 'set', 'inet', 'kt', 'dnat4_fw'))).includes(a.ip4), 'nft list set shows the port forward grant');
});
