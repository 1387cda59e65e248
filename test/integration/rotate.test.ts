/**
 * Rotating (time-based) sequences end to end: `knockctl knock --door NAME` derives the current
 * sequence from a client.yaml stanza (host, the secret, the door's parameters), never from the
 * server's config; a sequence from two steps ago (a sniffed, stale one) opens nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, KNOCKCTL, skipReason, sleep, type Host } from './support/lab';
import { scratch, startDaemon, writeConfig } from './support/daemon';
import { deriveSequence, stepCounter } from '../../src/knock';
import { loadConfigText, type KnockDoor, type RotatingSequence } from '../../src/config';

const skip = skipReason() ?? (existsSync('/usr/bin/knock') ? undefined : 'knockd\'s knock client is not installed');

test('a rotating door opens for the current sequence only', { skip }, async (t) => {
  const l = new Lab(2);
  t.after(() => l.down());
  await l.up();
  const [alice, mallory] = l.clients as [Host, Host];
  const dir = scratch();
  const secret = Buffer.alloc(32, 7);
  writeFileSync(join(dir, 'rot.secret'), `base64:${secret.toString('base64')}\n`, { mode: 0o600 });
  const text = `table: kt
state_dir: ${dir}/state
doors:
  rot:
    sequence: { rotate: { secret_file: ${dir}/rot.secret, length: 3, step: 10s, ports: "20000-20999", protocols: [tcp, udp] } }
    seq_timeout: 5
    open: ["22/tcp"]
    timeout: 30
`;
  const cfg = writeConfig(dir, text);
  await l.service(22);
  const d = await startDaemon(l, cfg);
  const spec = ((loadConfigText(text).config.doors[0] as KnockDoor).sequence as RotatingSequence);
  const stale = deriveSequence(new Uint8Array(secret), stepCounter(Date.now(), 10) - 2, spec);
  await l.exec(mallory.ns, '/usr/bin/knock', '-d', '20', l.server.ip4, ...stale.map((s) => `${s.port}:${s.proto}`));
  await sleep(400);
  assert.equal(d.count('grant'), 0, 'a sequence from two steps ago is useless');
  // The client's own files: its copy of the secret and a stanza; the server's config is not used.
  const home = join(dir, 'client');
  mkdirSync(home, { mode: 0o700 });
  writeFileSync(join(home, 'rot.secret'), `base64:${secret.toString('base64')}\n`, { mode: 0o600 });
  writeFileSync(join(home, 'client.yaml'), `rot:\n  host: ${l.server.ip4}\n  rotate: { secret_file: ${home}/rot.secret, length: 3, step: 10s, ports: "20000-20999", protocols: [tcp, udp] }\n`);
  const r = await l.exec(alice.ns, process.execPath, KNOCKCTL, 'knock', '-v', '--door', 'rot', '-c', join(home, 'client.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^door rot: \\d+:(tcp|udp) \\d+:(tcp|udp) \\d+:(tcp|udp) to ${l.server.ip4.replace(/\./g, '\\.')}`));
  await d.event('grant', (x) => x.src === alice.ip4);
  assert.equal(await l.connects(alice, l.server.ip4, 22), true);
  assert.equal(await l.connects(mallory, l.server.ip4, 22), false);
});
