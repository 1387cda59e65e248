/**
 * Who is calling over SSH, found without trusting our own environment: Debian's sudo (`env_reset`)
 * drops SSH_CONNECTION, so `sudo knockctl install-ruleset` sees none. The answer is in /proc:
 *
 * 1. the environment an ancestor was started with (`/proc/PID/environ`: the user's shell, or sudo
 *    itself, still hold SSH_CONNECTION);
 * 2. failing that, the TCP connection held by an `sshd` ancestor (its `socket:[inode]` fds matched
 *    against our own network namespace's `/proc/PID/net/tcp{,6}`: an sshd of another namespace has
 *    no row there).
 *
 * Pure: the /proc reads come in through `ProcReader` (src/io/proc-reader.ts implements it).
 */
import { parseAddr } from './addr';

/** Reads of /proc for one pid; undefined when the process is gone or unreadable. */
export interface ProcReader {
  /** `/proc/PID/stat`. */
  stat(pid: number): string | undefined;
  /** `/proc/PID/environ` (NUL-separated `KEY=value`). */
  environ(pid: number): string | undefined;
  /** Inodes of the sockets among `/proc/PID/fd/*` (links `socket:[N]`). */
  socketInodes(pid: number): number[];
  /** `/proc/PID/net/tcp` and `/proc/PID/net/tcp6` (the process's own network namespace). */
  netTcp(pid: number): { tcp?: string; tcp6?: string };
}

/** The SSH connection behind this process: the client's address and the server port it came in on. */
export interface SshCaller {
  readonly addr: string;
  readonly port: number;
  /** How it was found, for the message printed to the admin. */
  readonly via: string;
}

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  readonly session: number;
  /** Device number of the controlling terminal, 0 for none. */
  readonly ttyNr: number;
}

/** `pid (comm) state ppid pgrp session tty_nr ...`; comm may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const [ppid, , session, ttyNr] = [Number(rest[1]), Number(rest[2]), Number(rest[3]), Number(rest[4])];
  if (![pid, ppid, session, ttyNr].every(Number.isInteger)) return undefined;
  return { pid, comm: text.slice(open + 1, close), ppid, session, ttyNr };
}

/** `KEY=value\0KEY=value\0...` → record (later duplicates win, like getenv's last-set). */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

/** An SSH connection as the environment names it: client address and port, and the server port. */
export interface SshEnvConnection {
  readonly addr: string;
  readonly clientPort: number;
  readonly port: number;
}

const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

function connFrom(addrText: string | undefined, cport: string | undefined, sport: string | undefined): SshEnvConnection | undefined {
  if (!addrText) return undefined;
  const a = parseAddr(addrText.replace(/^::ffff:(?=\d+\.)/i, ''));
  const [clientPort, port] = [Number(cport), Number(sport)];
  if (!a || !isPort(clientPort) || !isPort(port)) return undefined;
  return { addr: a.text, clientPort, port };
}

/** From `SSH_CONNECTION="client cport server sport"`, else `SSH_CLIENT="client cport sport"`. */
export function sshFromEnv(env: Readonly<Record<string, string | undefined>>): SshEnvConnection | undefined {
  const conn = env.SSH_CONNECTION?.trim().split(/\s+/);
  if (conn?.length === 4) {
    const c = connFrom(conn[0], conn[1], conn[3]);
    if (c) return c;
  }
  const client = env.SSH_CLIENT?.trim().split(/\s+/);
  if (client?.length === 3) return connFrom(client[0], client[1], client[2]);
  return undefined;
}

/** One row of /proc/net/tcp{,6}. */
export interface TcpRow {
  readonly local: string;
  readonly localPort: number;
  readonly remote: string;
  readonly remotePort: number;
  /** Kernel TCP state: 1 ESTABLISHED, 10 LISTEN, ... */
  readonly state: number;
  readonly inode: number;
}

/**
 * Kernel fact: addresses are printed as 32-bit words in host byte order (`0100007F` is 127.0.0.1 on
 * a little-endian host); IPv6 is four such words. Ports are plain big-endian hex.
 */
function hexAddr(hex: string, littleEndian: boolean): string | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return parseAddr(groups.join(':'))?.text;
}

export function parseProcNetTcp(text: string, littleEndian = true): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = (f[1] ?? '').split(':');
    const [ra, rp] = (f[2] ?? '').split(':');
    const local = hexAddr(la ?? '', littleEndian);
    const remote = hexAddr(ra ?? '', littleEndian);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(inode)) continue;
    rows.push({ local, localPort: parseInt(lp ?? '', 16), remote, remotePort: parseInt(rp ?? '', 16), state: parseInt(f[3] ?? '', 16), inode });
  }
  return rows;
}

const TCP_ESTABLISHED = 1;
const MAX_DEPTH = 64;

/** This process and its ancestors, nearest first (stops at pid 1, a loop, or an unreadable one). */
export function ancestry(proc: ProcReader, pid: number): ProcStat[] {
  const out: ProcStat[] = [];
  const seen = new Set<number>();
  for (let p = pid; p > 0 && !seen.has(p) && out.length < MAX_DEPTH; ) {
    seen.add(p);
    const text = proc.stat(p);
    const st = text === undefined ? undefined : parseProcStat(text);
    if (!st) break;
    out.push(st);
    p = st.ppid;
  }
  return out;
}

/** The established connection among an sshd's sockets, looked up in our own namespace's table. */
function viaSocket(proc: ProcReader, st: ProcStat, here: readonly TcpRow[]): SshCaller | undefined {
  const inodes = new Set(proc.socketInodes(st.pid));
  const row = here.find((r) => inodes.has(r.inode));
  return row ? { addr: row.remote, port: row.localPort, via: `the connection of ${st.comm} (pid ${st.pid})` } : undefined;
}

export interface SshSession {
  /** The caller's SSH connection, when one was found. */
  readonly caller?: SshCaller;
  /**
   * Why this looks like a remote session even though no connection was found (an sshd ancestor,
   * a pseudo-terminal); undefined for a console, systemd or cron.
   */
  readonly remoteHint?: string;
}

/** Linux: pseudo-terminal slaves (/dev/pts/N) have majors 136-143. */
function isPts(ttyNr: number): boolean {
  const major = (ttyNr >> 8) & 0xfff;
  return major >= 136 && major <= 143;
}

function tcpRows(proc: ProcReader, pid: number, littleEndian: boolean): TcpRow[] {
  const { tcp, tcp6 } = proc.netTcp(pid);
  return [...parseProcNetTcp(tcp ?? '', littleEndian), ...parseProcNetTcp(tcp6 ?? '', littleEndian)];
}

/**
 * Find the SSH connection behind `pid` (normally our own) without trusting our own environment.
 * A connection named by an environment counts only when it exists, established, in `pid`'s own
 * network namespace: a shell's SSH_CONNECTION seen from `ip netns exec`, or a stale one inside a
 * tmux started by an earlier session, is not a connection this firewall could cut.
 */
export function findSshSession(proc: ProcReader, pid: number, ownEnv: Readonly<Record<string, string | undefined>> = {}, littleEndian = true): SshSession {
  const here = tcpRows(proc, pid, littleEndian).filter((r) => r.state === TCP_ESTABLISHED);
  const live = (c: SshEnvConnection): boolean => here.some((r) => r.remote === c.addr && r.remotePort === c.clientPort && r.localPort === c.port);
  const stale: string[] = [];
  const consider = (c: SshEnvConnection | undefined, via: string): SshCaller | undefined => {
    if (!c) return undefined;
    if (live(c)) return { addr: c.addr, port: c.port, via };
    stale.push(`${via} names ${c.addr} port ${c.clientPort} to port ${c.port}, but no such connection exists in this network namespace`);
    return undefined;
  };
  const own = consider(sshFromEnv(ownEnv), 'SSH_CONNECTION');
  if (own) return { caller: own };
  const chain = ancestry(proc, pid);
  for (const st of chain) {
    const text = proc.environ(st.pid);
    const c = consider(text === undefined ? undefined : sshFromEnv(parseEnviron(text)), `the environment of ${st.comm} (pid ${st.pid})`);
    if (c) return { caller: c };
  }
  for (const st of chain.filter((s) => s.comm.startsWith('sshd'))) {
    const c = viaSocket(proc, st, here);
    if (c) return { caller: c };
  }
  if (stale.length) return { remoteHint: stale[0] };
  const sshd = chain.find((s) => s.comm.startsWith('sshd'));
  if (sshd) return { remoteHint: `started under ${sshd.comm} (pid ${sshd.pid})` };
  const self = chain[0];
  if (self && isPts(self.ttyNr)) return { remoteHint: `the terminal is a pseudo-terminal (pts/${(self.ttyNr & 0xff) | ((self.ttyNr >> 12) & 0xfff00)})` };
  return {};
}
