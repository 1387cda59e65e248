/**
 * Checks of what doors open that a schema cannot express: forwarded-service and port-forward
 * targets that can never be forwarded to, port forwards that overlap, and (given this host's
 * addresses) targets that are this host. Pure: the caller passes the addresses.
 */
import { type ConfigIssue, type PortSpec, type Service, formatService, parseAddr, parseCidr, cidrContains } from '../core';
import type { Door } from './types';
import { formatPath } from './validate';

type Segs = (string | number)[];
type Issue = { segs: Segs; message: string };

/** Networks a forward or DNAT can never reach: unspecified, loopback, multicast, broadcast, IPv6 link-local. */
const UNROUTABLE: readonly [string, string][] = [
  ['0.0.0.0/8', 'is not a host address ("this network")'],
  ['127.0.0.0/8', 'is a loopback address: forwarded traffic never reaches it'],
  ['224.0.0.0/4', 'is a multicast address'],
  ['255.255.255.255/32', 'is the broadcast address'],
  ['::/128', 'is the unspecified address'],
  ['::1/128', 'is a loopback address: forwarded traffic never reaches it'],
  ['ff00::/8', 'is a multicast address'],
  ['fe80::/10', 'is a link-local address: it needs an interface, and a router does not forward to it'],
].map(([n, why]) => [n as string, why as string]);

function targetOf(s: Service): string | undefined {
  return s.kind === 'forward' ? s.addr : s.kind === 'dnat' ? s.toAddr : undefined;
}

/** Why `s` (a forwarded service or port forward) can never work, or undefined. */
export function unroutableTarget(s: Service): string | undefined {
  const t = targetOf(s);
  const a = t !== undefined ? parseAddr(t) : undefined;
  if (!a) return undefined;
  for (const [net, why] of UNROUTABLE) {
    const c = parseCidr(net);
    if (c && c.family === a.family && cidrContains(c, a.bytes)) return `"${formatService(s)}": ${t} ${why}`;
  }
  return undefined;
}

/**
 * Across all doors: a port of this host is forwarded to one target per address family (IPv4 clients
 * to an IPv4 host, IPv6 clients to an IPv6 host), and is not also one of
 * this host's own services (in a door's `open` or in `base.allow`): a granted source's connections
 * to it would be forwarded, the others' delivered here.
 */
export function serviceCrossIssues(doors: readonly Door[], allow: readonly PortSpec[]): Issue[] {
  const issues: Issue[] = [];
  const forwards = new Map<string, { door: string; s: Service }>();
  const locals = new Map<string, string>();
  for (const p of allow) locals.set(`${p.port}/${p.proto}`, 'base.allow');
  for (const d of doors) for (const s of d.open) if (s.kind === 'local') locals.set(`${s.port}/${s.proto}`, `door "${d.name}"`);
  for (const d of doors) {
    d.open.forEach((s, i) => {
      if (s.kind !== 'dnat') return;
      const key = `${s.port}/${s.proto}`;
      const at: Segs = ['doors', d.name, 'open', i];
      const prev = forwards.get(`${s.family} ${key}`);
      if (prev && formatService(prev.s) !== formatService(s)) {
        issues.push({ segs: at, message: `"${formatService(s)}" overlaps "${formatService(prev.s)}" of door "${prev.door}": this host's ${key} can be forwarded to one IPv${s.family} target only` });
      } else if (!prev) forwards.set(`${s.family} ${key}`, { door: d.name, s });
      const local = locals.get(key);
      if (local) issues.push({ segs: at, message: `"${formatService(s)}": ${key} is also this host's own service (${local}); a port is either forwarded or served here` });
    });
  }
  return issues;
}

/**
 * Forwarded services and port forwards whose target is an address of this host: the forward path
 * never sees that traffic (it goes to the input chain), so such a door would open nothing. One issue
 * per entry, with its path; `isLocal` answers for canonical address text.
 */
export function localTargetIssues(doors: readonly Door[], isLocal: (addr: string) => boolean): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const d of doors) {
    d.open.forEach((s, i) => {
      const t = targetOf(s);
      if (t === undefined || !isLocal(t)) return;
      const instead = s.kind === 'forward' ? `"${s.port}/${s.proto}"` : `a local service`;
      out.push({ path: formatPath(['doors', d.name, 'open', i]), message: `"${formatService(s)}": ${t} is an address of this host; forwarding and port forwards reach other hosts (for this host's own port write ${instead})` });
    });
  }
  return out;
}
