/**
 * `knockctl knock --door NAME`: a rotating door's client needs only its client.yaml stanza (host,
 * secret file, the door's parameters), never the server config. Knocks go to loopback only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deriveSequence, stepCounter } from '../../../src/knock';
import { loadConfigText, type KnockDoor, type RotatingSequence } from '../../../src/config';
import { loadClientConfigText } from '../../../src/spa/client-config';

/** knockctl as installed: the bundle's launcher (src/cli/launch.ts). */
const MAIN = resolve(__dirname, '../../../src/cli/launch.js');
const SECRET = Buffer.alloc(32, 11);
const PARAMS = 'length: 3, step: 1m, ports: "20000-20999", protocols: [tcp]';

function knockctl(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, KNOCKCTL_CONFIG: '/nonexistent/server.yaml', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function setup(t: { after: (fn: () => void) => void }, mode = 0o600): { dir: string; client: string; secret: string } {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-door-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secret = join(dir, 'rot.secret');
  writeFileSync(secret, `base64:${SECRET.toString('base64')}\n`);
  chmodSync(secret, mode);
  const client = join(dir, 'client.yaml');
  writeFileSync(client, `rot:\n  host: 127.0.0.1\n  rotate: { secret_file: ${secret}, ${PARAMS} }\nspa:\n  host: 127.0.0.1\n  key_file: ${join(dir, 'k')}\n`);
  return { dir, client, secret };
}

test('the client stanza and the server door give the same parameters, so the same knocks', () => {
  const server = loadConfigText(`doors:\n  rot:\n    sequence: { rotate: { secret_file: /etc/knockctl/rot.secret, ${PARAMS} } }\n    open: ["22/tcp"]\n`).config.doors[0] as KnockDoor;
  const stanza = loadClientConfigText(`rot:\n  host: server.example\n  rotate: { secret_file: ~/.config/knockctl/rot.secret, ${PARAMS} }\n`).get('rot');
  const { type: _t, secretFile: _s, ...serverParams } = server.sequence as RotatingSequence;
  const { secretFile, ...clientParams } = stanza?.rotate ?? { secretFile: '' };
  assert.equal(secretFile, '~/.config/knockctl/rot.secret');
  assert.deepEqual(clientParams, serverParams);
});

test('client.yaml: a stanza is SPA (key_file) or a rotating door (rotate), never both, never neither', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => loadClientConfigText(text, 'client.yaml'), re);
  bad('x:\n  host: h\n', /client\.yaml:2: x: needs key_file \(an SPA door\) or rotate/);
  bad('x:\n  host: h\n  key_file: /k\n  rotate: { secret_file: /s }\n', /x\.key_file: is for SPA stanzas/);
  bad('x:\n  host: h\n  rotate: { secret_file: /s, ports: "100-101" }\n', /x\.rotate\.ports: range 100-101 is too small/);
  bad('x:\n  host: h\n  rotate: { secret_file: /s, step: 1h1h }\n', /x\.rotate\.step: "1h1h" is not a duration/);
});

test('knock --door NAME: knocks the current sequence of the stanza\'s door, at the stanza\'s host', (t) => {
  const { client } = setup(t);
  const before = deriveSequence(SECRET, stepCounter(Date.now(), 60), { length: 3, portLow: 20000, portHigh: 20999, protocols: ['tcp'] });
  const r = knockctl(['knock', '-v', '--door', 'rot', '-c', client]);
  const after = deriveSequence(SECRET, stepCounter(Date.now(), 60), { length: 3, portLow: 20000, portHigh: 20999, protocols: ['tcp'] });
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n')[0] ?? '';
  const show = (s: typeof before) => `door rot: ${s.map((x) => `${x.port}:${x.proto}`).join(' ')} to 127.0.0.1`;
  assert.ok(line === show(before) || line === show(after), line);
  // A host on the command line wins over the stanza's; the environment's client config is used too.
  const r2 = knockctl(['knock', '-v', '-d', '1', '--door', 'rot', '::1'], { KNOCKCTL_CLIENT_CONFIG: client });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /^door rot: .* to ::1\n/);
});

test('knock --door refuses a secret that group or others can read, an SPA stanza, a missing stanza (exit 2)', (t) => {
  const { client, secret } = setup(t, 0o644);
  const r = knockctl(['knock', '--door', 'rot', '-c', client]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${secret} has mode 644.*chmod 600`));
  chmodSync(secret, 0o600);
  assert.match(knockctl(['knock', '--door', 'spa', '-c', client]).stderr, /stanza "spa" has no rotate: .*knockctl spa spa/);
  const missing = knockctl(['knock', '--door', 'nope', '-c', client]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /has no stanza "nope"/);
  assert.match(knockctl(['spa', 'rot', '-C', client]).stderr, /rotating knock door's stanza: knockctl knock --door rot/);
});

test('client-stanza DOOR prints a stanza the client can use as is (parameters, never the secret)', (t) => {
  const { dir, secret } = setup(t);
  const server = join(dir, 'server.yaml');
  writeFileSync(server, `doors:\n  rot:\n    sequence: { rotate: { secret_file: ${secret}, ${PARAMS} } }\n    open: ["22/tcp"]\n  plain:\n    sequence: ["7000", "8000"]\n    open: ["22/tcp"]\n`, { mode: 0o600 });
  const r = knockctl(['client-stanza', 'rot', '-c', server, '--host', '127.0.0.1']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET.toString('base64')), 'no secret in the stanza');
  const stanza = loadClientConfigText(r.stdout).get('rot');
  assert.equal(stanza?.host, '127.0.0.1');
  assert.equal(stanza?.rotate?.secretFile, '~/.config/knockctl/rot.secret');
  const { type: _t, secretFile: _s, ...serverParams } = (loadConfigText(`doors:\n  rot:\n    sequence: { rotate: { secret_file: /s, ${PARAMS} } }\n    open: ["22/tcp"]\n`).config.doors[0] as KnockDoor).sequence as RotatingSequence;
  const { secretFile: _c, ...clientParams } = stanza!.rotate!;
  assert.deepEqual(clientParams, serverParams);
  const client = join(dir, 'printed.yaml');
  writeFileSync(client, r.stdout.split('~/.config/knockctl/rot.secret').join(secret));
  const k = knockctl(['knock', '--door', 'rot', '-c', client]);
  assert.equal(k.code, 0, k.stderr);
  const notRot = knockctl(['client-stanza', 'plain', '-c', server]);
  assert.equal(notRot.code, 2);
  assert.match(notRot.stderr, /"plain" is not a rotating knock door .*\(rotating doors: rot\)/);
});
