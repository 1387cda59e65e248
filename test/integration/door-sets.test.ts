/**
 * Per-door sets against the real kernel (issue #13 item 4): a door whose set is filled to its
 * `set_size` refuses further grants of that door only (logged `set-full`, counted), an SPA door keeps
 * granting, and one element the kernel refuses does not fail the other grants of its nft batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KNOCKCTL, REPO, type Lab, skipReason, sleep, upLab } from './support/lab';
import { scratch, startDaemon, writeConfig } from './support/daemon';

const skip = skipReason();

async function sources(l: Lab, set: string): Promise<string[]> {
  const j = (await l.nftJson(l.server.ns, 'set', 'inet', 'kt', set)) as { nftables: { set?: { elem?: { elem?: { val: { concat: unknown[] } } }[] } }[] };
  return (j.nftables.find((o) => o.set)?.set?.elem ?? []).map((e) => String(e.elem?.val.concat[0])).sort();
}

test('a full door set refuses only that door\'s grants, logged and counted; an SPA door keeps granting; one refused element never fails its batch', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const a = l.clients[0]!;
  const dir = scratch();
  await l.service(22);
  const key = join(dir, 'alice.key');
  const setsConfig = (clients: string): string => writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  flooded:
    sequence: ["7000:udp"]
    open: ["22/tcp"]
    timeout: 120
    set_size: 4
  spa:
    spa: { clients: ${clients} }
    open: ["22/tcp"]
    timeout: 120
`);
  // The key file is made on the server for the SPA door (it carries the server's SPA identity).
  const kg = await l.knockctl(l.server.ns, 'keygen', '-c', setsConfig('{}'), '--door', 'spa', '-n', 'alice', '-o', key, '--host', l.server.ip4);
  assert.equal(kg.code, 0, kg.stderr);
  const entry = /(key|public_key): "([^"]+)"/.exec(kg.stdout);
  assert.ok(entry, kg.stdout);
  const cfg = setsConfig(`{ alice: { ${entry[1]}: "${entry[2]}" } }`);
  const d = await startDaemon(l, cfg);
  // Six sources knock the flooded door at once (a replayed sequence from many addresses).
  const net = a.ip4.split('.').slice(0, 3).join('.');
  const addrs = Array.from({ length: 6 }, (_, i) => `${net}.${20 + i}`);
  for (const x of addrs) await l.sh(a.ns, 'ip', 'addr', 'add', `${x}/24`, 'dev', `${l.id}w1`);
  await l.exec(a.ns, 'ping', '-c', '1', '-W', '1', l.server.ip4);
  const send = `const dgram=require('dgram');const addrs=${JSON.stringify(addrs)};let left=addrs.length;
for(const a of addrs){const s=dgram.createSocket('udp4');s.bind({address:a},()=>s.send(Buffer.from('k'),7000,${JSON.stringify(l.server.ip4)},()=>{s.close();if(--left===0)process.exit(0)}))}`;
  assert.equal((await l.exec(a.ns, process.execPath, '-e', send)).code, 0);
  await d.waitFor(() => d.count('grant', (x) => x.door === 'flooded') + d.count('set-full') >= 6, 8000, 'six outcomes');
  assert.equal(d.count('grant', (x) => x.door === 'flooded'), 4, 'the set holds set_size grants');
  assert.equal(d.count('set-full', (x) => x.door === 'flooded'), 2, 'the other two are refused as set-full');
  assert.equal((await sources(l, 'in4_flooded')).length, 4, 'nft list set: exactly set_size elements');
  assert.equal(d.count('grant-failed'), 0);
  // The SPA door's own set is untouched by the flood.
  const sent = await l.exec(a.ns, process.execPath, KNOCKCTL, 'spa', l.server.ip4, '-k', key);
  assert.equal(sent.code, 0, sent.stderr);
  await d.event('grant', (x) => x.door === 'spa' && x.src === a.ip4);
  assert.deepEqual(await sources(l, 'in4_spa'), [a.ip4]);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the SPA grant works while the other door is full');
  // Counted: status --json (from the daemon's status file, written every 5 s) shows set_full by door.
  const until = Date.now() + 15000;
  let counted: Record<string, number> | undefined;
  while (Date.now() < until) {
    const st = JSON.parse((await l.knockctl(l.server.ns, 'status', '-c', cfg, '--json')).stdout) as { daemon: { counters: { set_full?: Record<string, number> } | null } };
    counted = st.daemon.counters?.set_full;
    if (counted?.flooded) break;
    await sleep(500);
  }
  assert.deepEqual(counted, { flooded: 2 });
  // One batch, three grants, the middle one into the full set: the kernel refuses that element
  // (ENFILE); the two others must land.
  const script = `
const { loadConfigText } = require(${JSON.stringify(join(REPO, 'dist/src/config'))});
const { buildSetLayout } = require(${JSON.stringify(join(REPO, 'dist/src/nft'))});
const { Firewall } = require(${JSON.stringify(join(REPO, 'dist/src/daemon'))});
const { NftProcess } = require(${JSON.stringify(join(REPO, 'dist/src/io/nft-runner'))});
const cfg = loadConfigText(require('fs').readFileSync(${JSON.stringify(cfg)}, 'utf8')).config;
const fw = new Firewall(new NftProcess(), 'kt', buildSetLayout(cfg));
const g = (door, addr) => ({ door, family: 4, addr, services: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 60 });
fw.grantEach([g('spa', '192.0.2.31'), g('flooded', '192.0.2.32'), g('spa', '192.0.2.33')]).then((f) => {
  console.log(JSON.stringify(f.map((x) => ({ addr: x.item.addr, reason: x.error.message }))));
}, (e) => { console.error(e.message); process.exit(1); });`;
  const r = await l.exec(l.server.ns, process.execPath, '-e', script);
  assert.equal(r.code, 0, r.stderr);
  const failed = JSON.parse(r.stdout) as { addr: string; reason: string }[];
  assert.deepEqual(failed.map((f) => f.addr), ['192.0.2.32']);
  assert.match(failed[0]!.reason, /Too many open files in system/, 'nft\'s own message');
  assert.deepEqual(await sources(l, 'in4_spa'), [a.ip4, '192.0.2.31', '192.0.2.33'].sort(), 'the batch\'s other grants landed');
  assert.equal((await sources(l, 'in4_flooded')).length, 4);
  // A revoke removes the element from every set of its kind: the full one, where it is absent, does
  // not make it fail (the kernel refuses the "add" of the add+delete there with ENFILE).
  const rv = await l.knockctl(l.server.ns, 'revoke', a.ip4, '22/tcp', '-c', cfg);
  assert.equal(rv.code, 0, rv.stderr);
  assert.ok(!(await sources(l, 'in4_spa')).includes(a.ip4), 'revoked from the SPA door\'s set');
  assert.equal(await l.connects(a, l.server.ip4, 22), false);
});
