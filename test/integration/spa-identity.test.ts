/**
 * The server's SPA identity exists only when an SPA door of nftknock's format needs it: a knock-only
 * daemon never creates state_dir/spa-identity; the SIGHUP reload that adds the first SPA door does,
 * and that door then opens for a client bound to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { upLab, KNOCKCTL, skipReason } from './support/lab';
import { scratch, startDaemon, writeConfig } from './support/daemon';

const skip = skipReason();

test('a knock-only daemon creates no SPA identity; the reload that adds an SPA door creates it and the door opens', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const alice = l.clients[0]!;
  const dir = scratch();
  const idFile = join(dir, 'state', 'spa-identity');
  // Door `web` is a knock door first and an SPA door after the reload: the same name keeps its sets
  // (in4_web, in6_web), since a reload does not change the kernel ruleset.
  const knockDoors = `table: kt
state_dir: ${dir}/state
doors:
  ssh:
    sequence: ["7000", "8000"]
    open: ["22/tcp"]
    timeout: 30
`;
  const cfg = writeConfig(dir, `${knockDoors}  web:
    sequence: ["7500", "8500"]
    open: ["2222/tcp"]
    timeout: 30
`);
  await l.service(22);
  await l.service(2222);
  const d = await startDaemon(l, cfg);
  assert.equal((await l.exec(alice.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', l.server.ip4, '7000', '8000')).code, 0);
  await d.event('grant', (x) => x.src === alice.ip4 && x.door === 'ssh');
  assert.equal(existsSync(idFile), false, 'install-ruleset and a knock-only daemon leave no spa-identity');
  assert.equal(d.count('spa-identity'), 0);
  const noId = await l.knockctl(l.server.ns, 'identity', '-c', cfg, '--door', 'web');
  assert.equal(noId.code, 2, 'web is not an SPA door yet');

  // The client's own Ed25519 key: keygen without --door reads no identity, so nothing but the reload creates it.
  const key = join(dir, 'alice.key');
  const made = await l.exec(alice.ns, process.execPath, KNOCKCTL, 'keygen', '--ed25519', '-n', 'alice', '-o', key);
  assert.equal(made.code, 0, made.stderr);
  const entry = /alice: (\{ public_key: "[^"]+" \})/.exec(made.stdout)?.[1];
  assert.ok(entry, made.stdout);
  assert.equal(existsSync(idFile), false);
  writeFileSync(cfg, `${knockDoors}  web:
    spa: { port: 62201, clients: { alice: ${entry} } }
    open: ["2222/tcp"]
    timeout: 30
`);
  d.child.kill('SIGHUP');
  await d.event('reload');
  const created = await d.event('spa-identity');
  assert.equal(created.created, true);
  assert.ok(existsSync(idFile), 'the reload created state_dir/spa-identity');

  const id = await l.knockctl(l.server.ns, 'identity', '-c', cfg, '--door', 'web');
  assert.equal(id.code, 0, id.stderr);
  appendFileSync(key, id.stdout);
  assert.equal(await l.connects(alice, l.server.ip4, 2222), false);
  const sent = await l.exec(alice.ns, process.execPath, KNOCKCTL, 'spa', l.server.ip4, '-k', key);
  assert.equal(sent.code, 0, sent.stderr);
  await d.event('grant', (x) => x.src === alice.ip4 && x.door === 'web' && x.client === 'alice');
  assert.equal(await l.connects(alice, l.server.ip4, 2222), true, 'the SPA door added by the reload opens');
  assert.equal(d.count('spa-identity'), 1, 'loaded once');
});
