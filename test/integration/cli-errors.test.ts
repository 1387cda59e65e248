/**
 * The real CLI's errors: one line, the right exit code. Host names are resolved inside a namespace
 * whose resolv.conf (`ip netns exec` mounts /etc/netns/NS/resolv.conf) points at a stand-in DNS server
 * on the namespace's loopback that answers NXDOMAIN to everything: no query leaves the namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKCTL, skipReason, upLab, waitForLine, type ExecResult } from './support/lab';
import { formatServerIdentity, generateIdentity } from '../../src/spa';

const skip = skipReason();

/** NXDOMAIN for every query: the header with QR, RA and rcode 3, and the question echoed. */
const NXDOMAIN_SERVER = `const s=require('dgram').createSocket('udp4');
s.on('message',(m,r)=>{let i=12;while(i<m.length&&m[i])i+=m[i]+1;const q=Buffer.from(m.subarray(0,i+5));
q[2]=0x80|(q[2]&1);q[3]=0x83;q.writeUInt16BE(0,6);q.writeUInt16BE(0,8);q.writeUInt16BE(0,10);s.send(q,r.port,r.address)});
s.bind(53,'127.0.0.1',()=>console.log('ready'));`;

function oneLine(r: ExecResult): string {
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|getaddrinfo|ENOENT|EACCES|ENOTFOUND|EAI_|\n\s+at /);
  return lines[0]!;
}

test('clear one-line errors: unknown host, DNS down, missing files, permission denied, a key file others can read', { skip }, async (t) => {
  const l = await upLab(t, 0);
  const etc = join('/etc/netns', l.server.ns);
  t.after(() => rmSync(etc, { recursive: true, force: true }));
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-err-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]): Promise<ExecResult> => l.knockctl(l.server.ns, ...args);

  // DNS down (nothing listens yet): a runtime failure that says what to check.
  const down = await run('knock', 'nosuchhost.invalid', '7000');
  assert.equal(down.code, 1, down.stderr);
  assert.equal(oneLine(down), 'knockctl: cannot resolve nosuchhost.invalid: no answer from the DNS resolver; check the resolver (/etc/resolv.conf), or give an IP address');

  const dns = l.start(l.server.ns, process.execPath, ['-e', NXDOMAIN_SERVER]);
  await waitForLine(dns, /ready/, 5000);
  const knock = await run('knock', 'nosuchhost.invalid', '7000');
  assert.equal(knock.code, 2);
  assert.equal(oneLine(knock), 'knockctl: cannot resolve nosuchhost.invalid: no such host name (check the spelling, or give an IP address)');

  const key = join(dir, 'alice.key');
  assert.equal((await run('keygen', '--name', 'alice', '--out', key)).code, 0);
  // A bare key names no server or door (SPA v2): give them, so the host is what fails.
  const spa = await run('spa', 'nosuchhost.invalid', '-k', key, '--server-identity', formatServerIdentity(generateIdentity().pub), '--door', 'ssh-spa');
  assert.equal(spa.code, 2);
  assert.match(oneLine(spa), /^knockctl: cannot resolve nosuchhost\.invalid: no such host name/);

  chmodSync(key, 0o644);
  const open = await run('spa', '127.0.0.1', '-k', key);
  assert.equal(open.code, 2, 'a key file others can read is a usage error');
  assert.equal(oneLine(open), `knockctl: ${key} has mode 644, readable or writable by others; run: chmod 600 ${key}`);

  const nokey = await run('spa', '127.0.0.1', '-k', join(dir, 'missing.key'));
  assert.equal(nokey.code, 2);
  assert.equal(oneLine(nokey), `knockctl: cannot read key file ${join(dir, 'missing.key')}: no such file`);

  const noconf = await run('check-config', '-c', join(dir, 'missing.yaml'));
  assert.equal(noconf.code, 2);
  assert.equal(oneLine(noconf), `knockctl: cannot read config file ${join(dir, 'missing.yaml')}: no such file`);

  const noknockd = await run('import-knockd', join(dir, 'knockd.conf'));
  assert.equal(noknockd.code, 2);
  assert.equal(oneLine(noknockd), `knockctl: cannot read knockd config ${join(dir, 'knockd.conf')}: no such file`);
  const nofwknop = await run('import-fwknop', join(dir, 'access.conf'));
  assert.equal(nofwknop.code, 2);
  assert.equal(oneLine(nofwknop), `knockctl: cannot read fwknop config ${join(dir, 'access.conf')}: no such file`);

  // Not root: the root-only config says to run as root, and is not called an invalid config.
  const conf = join(dir, 'config.yaml');
  writeFileSync(conf, 'doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n', { mode: 0o600 });
  chmodSync(dir, 0o755);
  const user = await l.exec(l.server.ns, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, KNOCKCTL, 'status', '-c', conf);
  assert.equal(user.code, 1);
  assert.equal(oneLine(user), `knockctl: cannot read config file ${conf}: permission denied (run as root, e.g. with sudo)`);
});
