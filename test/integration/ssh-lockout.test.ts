/**
 * Anti-lockout with a REAL sshd and REAL sudo (Debian's default sudoers: env_reset drops
 * SSH_CONNECTION). sshd runs in the server namespace on a private config (its own host key in a temp
 * dir, its own port, no PAM), killed by the lab's teardown. Clients log in as a temporary admin user
 * (no password, so no password login; a key that only this sshd accepts; passwordless sudo through a
 * sudoers.d drop-in, under Debian's default `Defaults env_reset`), removed again by the teardown, and
 * run `sudo knockctl install-ruleset`. Afterwards a new session from the caller's address gets in and
 * one from the other client does not. (Root is not used: sshd without PAM refuses a locked root.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKCTL, skipReason, upLab, waitForLine, type Host, type Lab } from './support/lab';

const has = (p: string): boolean => existsSync(p);
const skip = skipReason() ??
  (!has('/usr/sbin/sshd') || !has('/usr/bin/ssh') ? 'needs openssh-server and openssh-client (apt-get install openssh-server openssh-client)' : undefined) ??
  (!has('/usr/bin/sudo') ? 'needs sudo (apt-get install sudo)' : undefined);

const PORT = 2222;

interface Ssh { dir: string; key: string; user: string }

/** A throwaway admin: no password (`*`), no home, passwordless sudo. Removed by the teardown. */
function tempAdmin(t: { after(fn: () => unknown): void }): string {
  const user = `nktest${process.pid % 100000}`;
  const sudoers = `/etc/sudoers.d/${user}`;
  t.after(() => {
    rmSync(sudoers, { force: true });
    spawnSync('userdel', ['-f', user], { stdio: 'ignore' });
  });
  const r = spawnSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', '-p', '*', user], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  writeFileSync(sudoers, `${user} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  chmodSync(sudoers, 0o440);
  return user;
}

/** Keys and an sshd config in a temp dir; sshd started in the server namespace. */
async function startSshd(t: { after(fn: () => unknown): void }, l: Lab): Promise<Ssh> {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-sshd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const user = tempAdmin(t);
  // sshd needs its privilege-separation directory; the package creates it only when its service starts.
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    t.after(() => {
      try {
        rmdirSync('/run/sshd');
      } catch {
        /* not empty, or gone: leave it */
      }
    });
  }
  for (const k of ['host', 'user']) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `knockctl-test-${k}`, '-f', join(dir, k)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  spawnSync('cp', [join(dir, 'user.pub'), join(dir, 'authorized_keys')]);
  const cfg = join(dir, 'sshd_config');
  writeFileSync(cfg, [
    `Port ${PORT}`, `ListenAddress ${l.server.ip4}`, `HostKey ${join(dir, 'host')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `AllowUsers ${user}`, 'PermitRootLogin no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
    'StrictModes no', `PidFile ${join(dir, 'sshd.pid')}`, 'LogLevel VERBOSE', '',
  ].join('\n'));
  const sshd = l.start(l.server.ns, '/usr/sbin/sshd', ['-D', '-e', '-f', cfg]);
  await waitForLine(sshd, /Server listening on/, 10000);
  return { dir, key: join(dir, 'user'), user };
}

/** `ssh root@server COMMAND` from a client namespace; exit 255 when it cannot connect. */
function ssh(l: Lab, s: Ssh, from: Host, command: string, ...extra: string[]): ReturnType<Lab['exec']> {
  return l.exec(from.ns, 'ssh', ...extra, '-F', '/dev/null', '-i', s.key, '-p', String(PORT), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=3', '-o', 'LogLevel=ERROR', `${s.user}@${l.server.ip4}`, command);
}

function config(dir: string, name: string, open: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `table: kt\nbase: { allow: ["80/tcp"] }\ndoors:\n  ssh: { sequence: ["7000", "8000", "9000:udp"], open: ["${open}"], timeout: 30 }\n`);
  return file;
}

const knockctl = `${process.execPath} ${KNOCKCTL}`;

test('sudo knockctl install-ruleset over real SSH keeps the caller in, and only the caller', { skip }, async (t) => {
  const l = await upLab(t, 2);
  const [a, b] = l.clients as [Host, Host];
  const s = await startSshd(t, l);
  const good = config(s.dir, 'good', `${PORT}/tcp`);
  const wrongPort = config(s.dir, 'wrong', '22/tcp');

  // The premise: Debian's sudo drops SSH_CONNECTION.
  const env = await ssh(l, s, a, 'sudo env');
  assert.equal(env.code, 0, env.stderr);
  assert.doesNotMatch(env.stdout, /SSH_CONNECTION|SSH_CLIENT/);

  // Nothing could open the SSH port again: refused, exit 2, nothing installed.
  const refused = await ssh(l, s, a, `sudo ${knockctl} install-ruleset -c ${wrongPort}`);
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, new RegExp(`refused: this config would lock you out:[\\s\\S]*ssh-port-closed[\\s\\S]*from ${a.ip4.replaceAll('.', '\\.')} to ${PORT}/tcp[\\s\\S]*--allow-lockout`));
  assert.equal((await l.exec(l.server.ns, 'nft', 'list', 'table', 'inet', 'kt')).code, 1, 'no table was installed');

  // Through sudo (env_reset): found in the environment of the shell that ran sudo.
  const r = await ssh(l, s, a, `sudo ${knockctl} install-ruleset -c ${good}`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`anti-lockout: your SSH source ${a.ip4.replaceAll('.', '\\.')} keeps ${PORT}/tcp open for 1h \\(found through the environment of \\S+ \\(pid \\d+\\)`));
  const list = await l.sh(l.server.ns, 'nft', 'list', 'set', 'inet', 'kt', 'allowed4');
  assert.match(list, new RegExp(`${a.ip4.replaceAll('.', '\\.')} \\. tcp \\. ${PORT} timeout 1h[^\\n]*comment "anti-lockout"`));
  assert.equal((await ssh(l, s, a, 'true')).code, 0, 'a NEW session from the caller\'s address gets in');
  // Interactive (a terminal: Debian's sudoers has use_pty, so sudo runs knockctl under its monitor).
  const tty = await ssh(l, s, a, `sudo ${knockctl} install-ruleset -c ${good}`, '-tt');
  assert.equal(tty.code, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, new RegExp(`anti-lockout: your SSH source ${a.ip4.replaceAll('.', '\\.')} keeps ${PORT}/tcp open for 1h \\(found through the environment of sudo \\(pid \\d+\\)`));
  const other = await ssh(l, s, b, 'true');
  assert.equal(other.code, 255, `another address must not get in: ${other.stderr}`);
});

test('no environment at all (env -i sudo): the caller is found through sshd\'s own connection', { skip }, async (t) => {
  const l = await upLab(t, 2);
  const [a, b] = l.clients as [Host, Host];
  const s = await startSshd(t, l);
  const good = config(s.dir, 'good', `${PORT}/tcp`);
  const r = await ssh(l, s, b, `exec env -i /usr/bin/sudo ${knockctl} install-ruleset -c ${good}`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`anti-lockout: your SSH source ${b.ip4.replaceAll('.', '\\.')} keeps ${PORT}/tcp open .*found through the connection of sshd`));
  assert.equal((await ssh(l, s, b, 'true')).code, 0, 'the caller gets in again');
  assert.equal((await ssh(l, s, a, 'true')).code, 255, 'the other client does not');
});
