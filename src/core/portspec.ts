/** Port and flag notations of the config file, parsed with messages that name the expected form. */
import { type Outcome, type PortSpec, type Proto, type TcpFlagsFilter, TcpFlag, type TcpFlagName, ok, reject } from './types';

function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function parseProto(s: string | undefined, dflt: Proto): Proto | undefined {
  if (s === undefined || s === '') return dflt;
  const p = s.toLowerCase();
  return p === 'tcp' || p === 'udp' ? p : undefined;
}

/** `PORT<sep>PROTO` or `PORT` (tcp); `form` names the expected shape in the message. */
function parsePortProto(s: string, sep: '/' | ':', form: string): Outcome<PortSpec> {
  const [portText, protoText, extra] = s.trim().split(sep);
  const port = parsePort(portText ?? '');
  const proto = parseProto(protoText, 'tcp');
  if (extra === undefined && port !== undefined && proto !== undefined) return ok({ port, proto });
  if (portText && /^[0-9]+$/.test(portText) && port === undefined) return reject('bad-port', `"${s}" is not a port 1-65535`);
  return reject('bad-portspec', `"${s}" is not of the form ${form}`);
}

/** A service: `22/tcp`, `53/udp`, or `22` (tcp). The separator is `/` as in /etc/services. */
export function parsePortSpec(s: string): Outcome<PortSpec> {
  return parsePortProto(s, '/', 'PORT/PROTO (e.g. "22/tcp")');
}

/** A knock: `7000:tcp`, `7000:udp` or `7000` (tcp), knockd's notation. */
export function parseKnockStep(s: string): Outcome<PortSpec> {
  return parsePortProto(s, ':', 'PORT[:PROTO] (e.g. "7000:tcp")');
}

export function formatPortSpec(p: PortSpec): string {
  return `${p.port}/${p.proto}`;
}

export function formatKnockStep(p: PortSpec): string {
  return `${p.port}:${p.proto}`;
}

/** knockd's `tcpflags = syn,!ack,...` (names case-insensitive, `!` negates). */
export function parseTcpFlags(s: string): Outcome<TcpFlagsFilter> {
  let set = 0;
  let unset = 0;
  for (const raw of s.split(',')) {
    const item = raw.trim().toLowerCase();
    if (!item) continue;
    const neg = item.startsWith('!');
    const name = (neg ? item.slice(1) : item) as TcpFlagName;
    const bit = TcpFlag[name];
    if (bit === undefined) return reject('bad-tcpflags', `"${raw.trim()}" is not a TCP flag (fin, syn, rst, psh, ack, urg, optionally with "!")`);
    if (neg) unset |= bit;
    else set |= bit;
  }
  if (set & unset) return reject('bad-tcpflags', `"${s}" both requires and forbids the same flag`);
  return ok({ set, unset });
}

/** True when a TCP flag byte passes the filter. */
export function tcpFlagsMatch(filter: TcpFlagsFilter, flags: number): boolean {
  return (flags & filter.set) === filter.set && (flags & filter.unset) === 0;
}
