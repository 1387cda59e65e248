/** Finding the caller's SSH connection from /proc, with a fake /proc (no real processes read). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findSshSession, parseEnviron, parseProcNetTcp, parseProcStat, sshFromEnv, type ProcReader } from '../../../src/core';

interface FakeProc { comm: string; ppid: number; tty?: number; env?: Record<string, string>; sockets?: number[]; tcp?: string; tcp6?: string }

/** A fake /proc: pid → process. stat lines are built as the kernel prints them. */
function fakeProc(procs: Record<number, FakeProc>): ProcReader {
  return {
    stat: (pid) => {
      const p = procs[pid];
      return p ? `${pid} (${p.comm}) S ${p.ppid} ${pid} ${pid} ${p.tty ?? 0} -1 4194560 0 0` : undefined;
    },
    environ: (pid) => {
      const p = procs[pid];
      return p ? Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${v}\0`).join('') : undefined;
    },
    socketInodes: (pid) => procs[pid]?.sockets ?? [],
    netTcp: (pid) => ({ ...(procs[pid]?.tcp ? { tcp: procs[pid]!.tcp } : {}), ...(procs[pid]?.tcp6 ? { tcp6: procs[pid]!.tcp6 } : {}) }),
  };
}

const HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
// Captured from a real sshd in a namespace: 10.251.0.1:2222 listening, and a session from 10.251.0.2:56914.
const TCP = HEAD +
  '   0: 0100FB0A:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14002 1 00000000736b1c2d 100 0 0 10 0\n' +
  '   1: 0100FB0A:08AE 0200FB0A:DE52 01 00000000:00000000 02:000AFC50 00000000     0        0 14017 3 000000008bd0f041 20 4 14 30 -1\n';
// fd00:1::1 port 22 ← fd00:1:1::2 port 40000, and ::ffff:192.0.2.7 → 22 (a v4-mapped session on a v6 socket).
const TCP6 = HEAD +
  '   0: 000000FD000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 200 1\n' +
  '   1: 000000FD000000000000000001000000:0016 000000FD000001000000000002000000:9C40 01 00000000:00000000 00:00000000 00000000     0        0 201 1\n' +
  '   2: 0000000000000000FFFF00000100000A:0016 0000000000000000FFFF0000070200C0:9C41 01 00000000:00000000 00:00000000 00000000     0        0 202 1\n';

test('parseProcStat: comm with spaces and parentheses; ppid, session and tty', () => {
  assert.deepEqual(parseProcStat('42 (sshd: root@pts/0 (x)) S 7 42 42 34816 -1 0'), { pid: 42, comm: 'sshd: root@pts/0 (x)', ppid: 7, session: 42, ttyNr: 34816 });
  assert.equal(parseProcStat('garbage'), undefined);
  assert.equal(parseProcStat('1 (init) S x y z'), undefined);
});

test('parseEnviron and sshFromEnv: SSH_CONNECTION first, SSH_CLIENT as fallback, v4-mapped and bad values', () => {
  assert.deepEqual(parseEnviron('A=1\0B=x=y\0\0junk\0'), { A: '1', B: 'x=y' });
  assert.deepEqual(sshFromEnv({ SSH_CONNECTION: '192.0.2.7 50000 192.0.2.1 2222' }), { addr: '192.0.2.7', clientPort: 50000, port: 2222 });
  assert.deepEqual(sshFromEnv({ SSH_CONNECTION: '::ffff:192.0.2.7 50000 ::ffff:192.0.2.1 22' }), { addr: '192.0.2.7', clientPort: 50000, port: 22 });
  assert.deepEqual(sshFromEnv({ SSH_CONNECTION: '2001:db8:0::7 50000 2001:db8::1 22' }), { addr: '2001:db8::7', clientPort: 50000, port: 22 });
  assert.deepEqual(sshFromEnv({ SSH_CLIENT: '192.0.2.8 50000 22' }), { addr: '192.0.2.8', clientPort: 50000, port: 22 });
  assert.deepEqual(sshFromEnv({ SSH_CONNECTION: 'nonsense', SSH_CLIENT: '192.0.2.8 50000 22' }), { addr: '192.0.2.8', clientPort: 50000, port: 22 });
  for (const bad of ['', 'host 1 2 3', '192.0.2.7 1 192.0.2.1 99999', '192.0.2.7 1 192.0.2.1 0', '192.0.2.7 1 2']) {
    assert.equal(sshFromEnv({ SSH_CONNECTION: bad }), undefined, bad);
  }
});

test('parseProcNetTcp: host-order IPv4 and IPv6 words, v4-mapped addresses, states and inodes', () => {
  const v4 = parseProcNetTcp(TCP);
  assert.deepEqual(v4[1], { local: '10.251.0.1', localPort: 2222, remote: '10.251.0.2', remotePort: 56914, state: 1, inode: 14017 });
  assert.equal(v4[0]?.state, 10, 'LISTEN');
  const v6 = parseProcNetTcp(TCP6);
  assert.deepEqual(v6.map((r) => [r.local, r.localPort, r.remote, r.remotePort, r.inode]), [
    ['fd00::1', 22, '::', 0, 200],
    ['fd00::1', 22, 'fd00:0:1::2', 40000, 201],
    ['10.0.0.1', 22, '192.0.2.7', 40001, 202],
  ]);
  // Big-endian hosts print the words as they are.
  assert.equal(parseProcNetTcp(`${HEAD}   0: 0AFB0001:08AE 0AFB0002:DE52 01 0 0 0 0 0 5\n`, false)[0]?.remote, '10.251.0.2');
  assert.deepEqual(parseProcNetTcp(`${HEAD}   0: XYZ:08AE 0AFB0002:DE52 01 0 0 0 0 0 5\n short line\n`), []);
});

// The connection 192.0.2.7:50000 → 192.0.2.1:22 (0xC350, 0x16), established, in our namespace.
const TCP_HERE = `${HEAD}   0: 010200C0:0016 070200C0:C350 01 00000000:00000000 00:00000000 00000000     0        0 777 1\n`;

test('through sudo: our own environment is empty, the shell that ran sudo still has SSH_CONNECTION', () => {
  const proc = fakeProc({
    100: { comm: 'node', ppid: 99, env: { PATH: '/usr/bin', SUDO_USER: 'alice' }, tcp: TCP_HERE },
    99: { comm: 'sudo', ppid: 50, env: { PATH: '/usr/bin' } },
    50: { comm: 'bash', ppid: 40, env: { SSH_CONNECTION: '192.0.2.7 50000 192.0.2.1 22' } },
    40: { comm: 'sshd', ppid: 1 },
    1: { comm: 'systemd', ppid: 0 },
  });
  const s = findSshSession(proc, 100, { PATH: '/usr/bin' });
  assert.deepEqual(s.caller, { addr: '192.0.2.7', port: 22, via: 'the environment of bash (pid 50)' });
});

test('our own SSH_CONNECTION wins when its connection exists here', () => {
  const s = findSshSession(fakeProc({ 100: { comm: 'node', ppid: 0, tcp: TCP_HERE } }), 100, { SSH_CONNECTION: '192.0.2.7 50000 192.0.2.1 22' });
  assert.deepEqual(s.caller, { addr: '192.0.2.7', port: 22, via: 'SSH_CONNECTION' });
});

test('an SSH_CONNECTION whose connection is not in this namespace (ip netns exec, a stale tmux) is no caller, but a loud hint', () => {
  const proc = fakeProc({
    100: { comm: 'node', ppid: 50, tcp: HEAD },
    50: { comm: 'bash', ppid: 1, env: { SSH_CONNECTION: '192.0.2.7 50000 192.0.2.1 22' } },
    1: { comm: 'systemd', ppid: 0 },
  });
  const s = findSshSession(proc, 100, { SSH_CONNECTION: '192.0.2.9 40000 192.0.2.1 22' });
  assert.equal(s.caller, undefined);
  assert.equal(s.remoteHint, 'SSH_CONNECTION names 192.0.2.9 port 40000 to port 22, but no such connection exists in this network namespace');
  // Same address, other client port: another (older) connection, not this one.
  assert.equal(findSshSession(fakeProc({ 100: { comm: 'node', ppid: 0, tcp: TCP_HERE } }), 100, { SSH_CONNECTION: '192.0.2.7 50001 192.0.2.1 22' }).caller, undefined);
});

test('no environment anywhere (env -i): the connection held by the sshd ancestor', () => {
  const proc = fakeProc({
    100: { comm: 'node', ppid: 40, tcp: TCP },
    40: { comm: 'sshd', ppid: 30, sockets: [13256, 14017] },
    30: { comm: 'sshd', ppid: 1, sockets: [14002] },
    1: { comm: 'systemd', ppid: 0 },
  });
  assert.deepEqual(findSshSession(proc, 100).caller, { addr: '10.251.0.2', port: 2222, via: 'the connection of sshd (pid 40)' });
  const v6 = fakeProc({ 100: { comm: 'node', ppid: 40, tcp: HEAD, tcp6: TCP6 }, 40: { comm: 'sshd', ppid: 0, sockets: [201] } });
  assert.deepEqual(findSshSession(v6, 100).caller, { addr: 'fd00:0:1::2', port: 22, via: 'the connection of sshd (pid 40)' });
  // An sshd of another namespace: its socket has no row in ours.
  const elsewhere = fakeProc({ 100: { comm: 'node', ppid: 40, tcp: HEAD }, 40: { comm: 'sshd', ppid: 0, sockets: [14017] } });
  assert.equal(findSshSession(elsewhere, 100).caller, undefined);
});

test('a listening socket is not a caller; an sshd ancestor without a connection is still a remote hint', () => {
  const proc = fakeProc({ 100: { comm: 'node', ppid: 30, tcp: TCP }, 30: { comm: 'sshd', ppid: 1, sockets: [14002] }, 1: { comm: 'init', ppid: 0 } });
  const s = findSshSession(proc, 100);
  assert.equal(s.caller, undefined);
  assert.equal(s.remoteHint, 'started under sshd (pid 30)');
});
test('a pseudo-terminal without any SSH trace is a remote hint; a console, systemd or cron is not', () => {
  const pts = (136 << 8) | 3;
  assert.match(findSshSession(fakeProc({ 100: { comm: 'node', ppid: 1, tty: pts }, 1: { comm: 'tmux: server', ppid: 0 } }), 100).remoteHint ?? '', /pseudo-terminal \(pts\/3\)/);
  const tty1 = (4 << 8) | 1;
  assert.deepEqual(findSshSession(fakeProc({ 100: { comm: 'node', ppid: 1, tty: tty1 }, 1: { comm: 'systemd', ppid: 0 } }), 100), {});
  assert.deepEqual(findSshSession(fakeProc({ 100: { comm: 'node', ppid: 1 }, 1: { comm: 'systemd', ppid: 0 } }), 100), {});
});

test('a parent loop or an unreadable process ends the walk', () => {
  const loop = fakeProc({ 100: { comm: 'node', ppid: 101 }, 101: { comm: 'x', ppid: 100 } });
  assert.deepEqual(findSshSession(loop, 100), {});
  assert.deepEqual(findSshSession(fakeProc({}), 100), {});
});
