/**
 * What a door opens: a `Service`. Three forms, each with one canonical text (what config, logs,
 * `status` and SPA requests print):
 *
 * - local service        `22/tcp`                     a port of this host
 * - forwarded service    `192.168.1.10:22/tcp`        a host and port reached through this host
 *                        `[2001:db8::10]:22/tcp`      (IPv6 in brackets)
 * - port forward         `2222/tcp=>192.168.1.10:22`  this host's port 2222 DNATed to that host and port,
 *                        `2222/tcp=>[2001:db8::10]:22` for the granted source only
 *
 * A protocol left out means tcp, as in `parsePortSpec`. Pure; no DNS (addresses only).
 */
import { type Family, type LocalService, type Outcome, type PortSpec, type Service, ok, reject } from './types';
import { parseAddr } from './addr';
import { parsePortSpec } from './portspec';

export const SERVICE_FORMS = 'PORT/PROTO ("22/tcp"), ADDR:PORT/PROTO ("192.168.1.10:22/tcp", "[2001:db8::10]:22/tcp") or PORT/PROTO=>ADDR:PORT ("2222/tcp=>192.168.1.10:22")';

export function localService(p: PortSpec): LocalService {
  return { kind: 'local', port: p.port, proto: p.proto };
}

function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `ADDR:PORT` with IPv6 in brackets; `rest` is what follows the port (e.g. `/tcp`). */
function hostPort(s: string): { addr: string; family: Family; portText: string } | { error: string } {
  let addrText: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') return { error: 'an IPv6 address goes in brackets: [ADDR]:PORT' };
    addrText = s.slice(1, close);
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) return { error: 'missing ":PORT"' };
    addrText = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (addrText.includes(':')) return { error: 'an IPv6 address goes in brackets: [ADDR]:PORT' };
  }
  const a = parseAddr(addrText);
  if (!a) return { error: `"${addrText}" is not an IPv4 or IPv6 address` };
  if (s.startsWith('[') && a.family !== 6) return { error: `"${addrText}" in brackets is not an IPv6 address` };
  return { addr: a.text, family: a.family, portText };
}

function bad(s: string, why?: string): { ok: false; reason: 'bad-service'; detail?: string } {
  return reject('bad-service', `"${s}" is not a service${why ? ` (${why})` : ''}: expected ${SERVICE_FORMS}`);
}

/** Parse any of the three forms. Messages echo the value and name the expected forms. */
export function parseService(text: string): Outcome<Service> {
  const s = text.trim();
  const arrow = s.indexOf('=>');
  if (arrow >= 0) {
    const local = parsePortSpec(s.slice(0, arrow));
    if (!local.ok) return bad(text, `before "=>": ${local.detail ?? local.reason}`);
    const hp = hostPort(s.slice(arrow + 2).trim());
    if ('error' in hp) return bad(text, `after "=>": ${hp.error}`);
    const toPort = parsePort(hp.portText);
    if (toPort === undefined) return bad(text, `after "=>": "${hp.portText}" is not a port 1-65535 (the protocol is the one before "=>")`);
    return ok({ kind: 'dnat', proto: local.value.proto, port: local.value.port, family: hp.family, toAddr: hp.addr, toPort });
  }
  if (/^[0-9]+:(tcp|udp)$/i.test(s)) return bad(text, 'PORT:PROTO is how knocks are written; a service is PORT/PROTO, e.g. "22/tcp"');
  if (!s.includes(':')) {
    const p = parsePortSpec(s);
    return p.ok ? ok(localService(p.value)) : p;
  }
  const slash = s.lastIndexOf('/');
  const hasProto = slash > s.lastIndexOf(']') && slash > s.lastIndexOf(':');
  const hp = hostPort(hasProto ? s.slice(0, slash) : s);
  if ('error' in hp) return bad(text, hp.error);
  const p = parsePortSpec(hasProto ? `${hp.portText}/${s.slice(slash + 1)}` : hp.portText);
  if (!p.ok) return bad(text, p.detail ?? p.reason);
  return ok({ kind: 'forward', family: hp.family, addr: hp.addr, proto: p.value.proto, port: p.value.port });
}

function hostText(family: Family, addr: string): string {
  return family === 6 ? `[${addr}]` : addr;
}

/** The canonical text: parseService(formatService(s)) equals s. */
export function formatService(s: Service): string {
  switch (s.kind) {
    case 'local':
      return `${s.port}/${s.proto}`;
    case 'forward':
      return `${hostText(s.family, s.addr)}:${s.port}/${s.proto}`;
    case 'dnat':
      return `${s.port}/${s.proto}=>${hostText(s.family, s.toAddr)}:${s.toPort}`;
  }
}

/** Same service (addresses are kept canonical, so comparing the canonical text is exact). */
export function sameService(a: Service, b: Service): boolean {
  return formatService(a) === formatService(b);
}

/** The local services of a list, as port specs (what an input-chain rule or set element needs). */
export function localPorts(list: readonly Service[]): PortSpec[] {
  const out: PortSpec[] = [];
  for (const s of list) if (s.kind === 'local') out.push({ port: s.port, proto: s.proto });
  return out;
}
