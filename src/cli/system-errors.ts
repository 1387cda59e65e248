/**
 * Node's system errors (ENOENT, EACCES, getaddrinfo ENOTFOUND, ...) as one clear line with the
 * right exit class: a missing file or an unknown host name is the user's input (UsageError, exit 2);
 * permission denied and temporary failures are runtime failures (exit 1) and say what to do.
 */
import { KnockctlError, UsageError } from '../core';

type Errno = NodeJS.ErrnoException & { hostname?: string; address?: string };

const isErrno = (e: unknown): e is Errno => e instanceof Error && typeof (e as Errno).code === 'string';

/** Why a file could not be read, in words: `no such file`, `permission denied (run as root ...)`. */
export function fsReason(e: unknown): string {
  if (!isErrno(e)) return e instanceof Error ? e.message : String(e);
  switch (e.code) {
    case 'ENOENT': return 'no such file';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'EISDIR': return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM': return `permission denied${process.getuid?.() === 0 ? '' : ' (run as root, e.g. with sudo)'}`;
    case 'ELOOP': return 'too many symbolic links';
    default: return e.message.replace(/^[A-Z]+: /, '');
  }
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function classify(msg: string, e: unknown): KnockctlError {
  return isErrno(e) && MISSING.has(e.code ?? '') ? new UsageError(msg) : new KnockctlError('ERR_ACCESS', msg, { cause: e });
}

/** A file that could not be read, as the error the CLI reports: missing = usage (2), else runtime (1). */
export function fileError(what: string, file: string, e: unknown): KnockctlError {
  return classify(`cannot read ${what} ${file}: ${fsReason(e)}`, e);
}

/** A host name that did not resolve: unknown name = usage (2); a DNS outage = runtime (1). */
export function resolveError(host: string, e: unknown): KnockctlError {
  const code = isErrno(e) ? e.code : undefined;
  if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_NONAME') {
    return new UsageError(`cannot resolve ${host}: no such host name (check the spelling, or give an IP address)`);
  }
  const why = code === 'EAI_AGAIN' || code === 'ETIMEOUT' ? 'no answer from the DNS resolver' : code === 'ESERVFAIL' ? 'the DNS server failed' : `the DNS lookup failed (${code ?? (e as Error).message})`;
  return new KnockctlError('ERR_RESOLVE', `cannot resolve ${host}: ${why}; check the resolver (/etc/resolv.conf), or give an IP address`, { cause: e });
}

const NETWORK: Record<string, string> = {
  ENETUNREACH: 'network unreachable (no route)',
  EHOSTUNREACH: 'host unreachable',
  EADDRNOTAVAIL: 'address not available on this host',
  ECONNREFUSED: 'connection refused',
};

/** A raw system error that reached the top, as a KnockctlError, or undefined if it is not one. */
export function fromSystemError(e: unknown): KnockctlError | undefined {
  if (!isErrno(e)) return undefined;
  if (e.syscall === 'getaddrinfo' || e.syscall?.startsWith('query')) return resolveError(e.hostname ?? 'the host', e);
  if (e.path && /^E(NOENT|NOTDIR|ISDIR|ACCES|PERM|LOOP)$/.test(e.code ?? '')) return classify(`${e.path}: ${fsReason(e)}`, e);
  const net = NETWORK[e.code ?? ''];
  if (net) return new KnockctlError('ERR_NETWORK', `cannot send${e.address ? ` to ${e.address}` : ''}: ${net}`, { cause: e });
  return undefined;
}
