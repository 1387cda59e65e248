/**
 * Access entries read from the kernel, as people and scripts see them: each with its Service, and
 * without the elements a port forward's grant adds for its own sake (its target in a fwd set).
 */
import { type AccessEntry, type Service, formatService, parseAddr, sameService } from '../core';
import type { Door } from '../config';

/** What an entry opens, as a Service; a port forward's target comes from `portForwards` (the config's). */
export function entryService(e: AccessEntry, portForwards: readonly Service[] = []): Service | undefined {
  if (e.kind === 'forward') {
    const a = e.to !== undefined ? parseAddr(e.to) : undefined;
    return a ? { kind: 'forward', family: a.family, addr: a.text, proto: e.proto, port: e.port } : undefined;
  }
  if (e.kind === 'dnat') return portForwards.find((s) => s.kind === 'dnat' && s.family === e.family && s.port === e.port && s.proto === e.proto);
  return { kind: 'local', port: e.port, proto: e.proto };
}

/** Display text of an entry's service (`2222/tcp=>?` for a port forward the config no longer has). */
export function entryServiceText(e: AccessEntry, portForwards: readonly Service[] = []): string {
  const s = entryService(e, portForwards);
  if (s) return formatService(s);
  return e.kind === 'dnat' ? `${e.port}/${e.proto}=>?` : `${e.to ?? '?'}:${e.port}/${e.proto}`;
}

/**
 * Hide the fwd element a port forward grant adds next to its dnat element (elements.ts:
 * serviceParts): same source and door, the port forward's target. It stays when the door also opens
 * that target as a forwarded service of its own (then the element is that grant too).
 */
export function withoutPortForwardTargets(entries: readonly AccessEntry[], doors: readonly Pick<Door, 'name' | 'open'>[]): AccessEntry[] {
  const pfs = doors.flatMap((d) => d.open);
  const implied = new Set<string>();
  for (const e of entries) {
    if (e.kind !== 'dnat') continue;
    const pf = entryService(e, pfs);
    if (pf?.kind === 'dnat') implied.add(`${e.addr}|${e.door ?? ''}|${pf.toAddr}|${pf.proto}|${pf.toPort}`);
  }
  return entries.filter((e) => {
    if (e.kind !== 'forward' || !implied.has(`${e.addr}|${e.door ?? ''}|${e.to ?? ''}|${e.proto}|${e.port}`)) return true;
    const own = doors.find((d) => d.name === e.door);
    const s = entryService(e);
    return own !== undefined && s !== undefined && own.open.some((o) => sameService(o, s));
  });
}
