/**
 * fwknopd's access.conf (+ fwknopd.conf) → an nftknock config with one `spa.format: fwknop` door,
 * each stanza a client, so existing fwknop clients and keys keep working. Everything that does
 * not carry over is a line-numbered warning, or the stanza is left out with one. Pure: the caller
 * reads the files and writes the result.
 */
import { Document, isSeq, visit } from 'yaml';
import { ConfigError, type ConfigIssue, type PortSpec, formatPortSpec, parseAddr, parseCidr } from '../core';
import { type AccessReader, type FwknopStanza, type FwknopValue, isYes, parseAccessConf, parseFwknopdConf } from './fwknop-parse';
import { FWKNOP_MAX_HMAC_KEY_LEN, FWKNOP_MAX_KEY_LEN } from './fwknop-client';
import { MAX_SPA_WINDOW_SEC } from './spa-checks';

/** fwknopd's defaults: FW_ACCESS_TIMEOUT 30 s, MAX_FW_TIMEOUT 300 s, MAX_SPA_PACKET_AGE 120 s, port 62201. */
const FW_ACCESS_TIMEOUT = 30;
const MAX_FW_TIMEOUT = 300;
const DOOR = 'fwknop';

export interface FwknopImportInput {
  readonly accessText: string;
  readonly accessFile: string;
  /** Follows `%include` / `%include_folder`; without it they are warnings. */
  readonly reader?: AccessReader;
  readonly fwknopdText?: string;
  readonly fwknopdFile?: string;
  /** Services for stanzas without OPEN_PORTS (fwknopd let those open anything asked for). */
  readonly defaultOpen?: readonly PortSpec[];
  /** Now, seconds since the epoch: stanzas past ACCESS_EXPIRE are left out. */
  readonly nowSec: number;
}

type Raw = Record<string, unknown>;

/** Not used by nftknock, with the reason; each one met is a warning. */
const STANZA_DROPPED: Record<string, string> = {
  ENABLE_CMD_EXEC: 'nftknock never runs commands sent in datagrams (fwknop -C is refused)',
  ENABLE_CMD_SUDO_EXEC: 'nftknock never runs commands sent in datagrams',
  CMD_EXEC_USER: 'nftknock never runs commands sent in datagrams', CMD_EXEC_GROUP: 'nftknock never runs commands sent in datagrams',
  CMD_SUDO_EXEC_USER: 'nftknock never runs commands sent in datagrams', CMD_SUDO_EXEC_GROUP: 'nftknock never runs commands sent in datagrams',
  SUDO_EXE: 'nftknock never runs commands sent in datagrams',
  CMD_CYCLE_OPEN: 'not imported: use the door\'s start_command hook (argument list, %IP% instead of $IP) if you still need it',
  CMD_CYCLE_CLOSE: 'not imported: use the door\'s stop_command hook if you still need it',
  CMD_CYCLE_TIMER: 'not imported: the door\'s cmd_timeout is its equivalent',
  FORCE_SNAT: 'not imported: SNAT/masquerading stays the router\'s own rule (docs/routers.md)',
  FORCE_MASQUERADE: 'not imported: SNAT/masquerading stays the router\'s own rule (docs/routers.md)',
  GPG_HOME_DIR: 'GnuPG is not supported', GPG_DECRYPT_ID: 'GnuPG is not supported', GPG_DECRYPT_PW: 'GnuPG is not supported',
  GPG_ALLOW_NO_PW: 'GnuPG is not supported', GPG_REQUIRE_SIG: 'GnuPG is not supported', GPG_DISABLE_SIG: 'GnuPG is not supported',
  GPG_IGNORE_SIG_VERIFY_ERROR: 'GnuPG is not supported', GPG_REMOTE_ID: 'GnuPG is not supported', GPG_FINGERPRINT_ID: 'GnuPG is not supported',
  GPG_EXE: 'GnuPG is not supported',
};
const STANZA_USED = new Set(['SOURCE', 'DESTINATION', 'OPEN_PORTS', 'RESTRICT_PORTS', 'KEY', 'KEY_BASE64', 'HMAC_KEY', 'HMAC_KEY_BASE64', 'HMAC_DIGEST_TYPE',
  'FW_ACCESS_TIMEOUT', 'MAX_FW_TIMEOUT', 'REQUIRE_USERNAME', 'REQUIRE_SOURCE_ADDRESS', 'REQUIRE_SOURCE', 'ENCRYPTION_MODE', 'ACCESS_EXPIRE',
  'ACCESS_EXPIRE_EPOCH', 'FORCE_NAT', 'FORWARD_ALL', 'DISABLE_DNAT']);
const HMAC_DIGESTS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_512'];

class Ctx {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  /** The file being read: access.conf, or one it includes (whose lines are named with it). */
  at: string;
  constructor(readonly file: string) {
    this.at = file;
  }
  /** An issue at a line of `file`; the error names access.conf, so another file's name and line lead the message. */
  err(v: { line: number }, path: string, message: string, file = this.at): void {
    if (file === this.file) this.issues.push({ path, message, line: v.line });
    else this.issues.push({ path: '', message: `${file}:${v.line}: ${path ? `${path}: ` : ''}${message}` });
  }
  warn(v: { line: number }, message: string, file = this.at): void {
    this.warnings.push(`${file}:${v.line}: ${message}`);
  }
}

/** `tcp/22, udp/53` → services; fwknop's order is proto/port. */
function portList(ctx: Ctx, v: FwknopValue, path: string): PortSpec[] {
  const out: PortSpec[] = [];
  for (const item of v.value.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(tcp|udp)\/([0-9]{1,5})$/i.exec(item);
    const port = Number(m?.[2] ?? 0);
    if (!m || port < 1 || port > 65535) ctx.err(v, path, `"${item}" is not PROTO/PORT with PROTO tcp or udp and PORT 1-65535`);
    else if (!out.some((o) => o.port === port && o.proto === (m[1] as string).toLowerCase())) out.push({ proto: (m[1] as string).toLowerCase() as 'tcp' | 'udp', port });
  }
  return out;
}

function keyOf(ctx: Ctx, s: FwknopStanza, b64: string, plain: string, max: number, path: string): string | undefined {
  const vb = s.vars.get(b64);
  const vp = s.vars.get(plain);
  if (vb) {
    const clean = vb.value.trim();
    const bytes = Buffer.from(clean, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(clean) || bytes.length === 0 || bytes.length > max) ctx.err(vb, path, `${b64} is not base64 of 1 to ${max} bytes`);
    return `base64:${bytes.toString('base64')}`;
  }
  if (vp) {
    const bytes = Buffer.from(vp.value, 'latin1');
    if (bytes.length > max) ctx.err(vp, path, `${plain} is longer than ${max} bytes`);
    return `base64:${bytes.toString('base64')}`;
  }
  return undefined;
}

/** The client entry of one stanza, or why it is left out. */
/** FORCE_NAT `IP PORT` → `IP:PORT` (IPv6 in brackets); undefined when absent, null when unreadable. */
function forcedNat(ctx: Ctx, v: FwknopValue | undefined, path: string): string | undefined | null {
  if (!v) return undefined;
  const m = /^(\S+)\s+([0-9]{1,5})$/.exec(v.value.trim());
  const a = m ? parseAddr(m[1] as string) : undefined;
  const port = Number(m?.[2] ?? 0);
  if (!a || port < 1 || port > 65535) {
    ctx.err(v, `${path}.open`, `FORCE_NAT "${v.value}" is not an IP address and a port 1-65535`);
    return null;
  }
  return `${a.family === 6 ? `[${a.text}]` : a.text}:${port}`;
}

function stanzaClient(ctx: Ctx, s: FwknopStanza, input: FwknopImportInput, path: string): { data: Raw; open: string[]; dest?: string[] } | { skip: string } {
  const at = (k: string): FwknopValue => s.vars.get(k) ?? { value: '', line: s.line };
  for (const [k, v] of s.vars) {
    if (STANZA_DROPPED[k]) ctx.warn(v, `${k}: ${STANZA_DROPPED[k]}`);
    else if (!STANZA_USED.has(k)) ctx.warn(v, `${k}: not a variable nftknock knows; not imported`);
  }
  const expire = s.vars.get('ACCESS_EXPIRE_EPOCH') ?? s.vars.get('ACCESS_EXPIRE');
  if (expire) {
    const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(expire.value);
    const when = s.vars.has('ACCESS_EXPIRE_EPOCH') ? Number(expire.value) : m ? Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2])) / 1000 : NaN;
    if (!Number.isFinite(when) || when <= input.nowSec) return { skip: `it expired (${expire.value}) or its expiry cannot be read` };
    ctx.warn(expire, `stanza #${s.num} expires ${new Date(when * 1000).toISOString()} in fwknopd; nftknock has no expiry: remove client stanza-${s.num} by then`);
  }
  if (isYes(s.vars.get('FORWARD_ALL')) || isYes(s.vars.get('DISABLE_DNAT'))) return { skip: 'FORWARD_ALL / DISABLE_DNAT (an SPA gateway to everything) has no nftknock equivalent: list forwarded services in open instead' };
  const nat = forcedNat(ctx, s.vars.get('FORCE_NAT'), path);
  if (nat === null) return { skip: 'FORCE_NAT is not "IP PORT"' };
  const mode = s.vars.get('ENCRYPTION_MODE');
  if (mode && !/^cbc$/i.test(mode.value)) return { skip: `ENCRYPTION_MODE ${mode.value}: only CBC (the default) is supported, and fwknop's legacy mode cannot carry an HMAC` };
  const key = keyOf(ctx, s, 'KEY_BASE64', 'KEY', FWKNOP_MAX_KEY_LEN, `${path}.key`);
  if (!key) return { skip: s.vars.has('GPG_DECRYPT_ID') ? 'GnuPG stanza: GnuPG is not supported; give the client a Rijndael key (fwknop --key-gen)' : 'no KEY or KEY_BASE64' };
  const hmac = keyOf(ctx, s, 'HMAC_KEY_BASE64', 'HMAC_KEY', FWKNOP_MAX_HMAC_KEY_LEN, `${path}.hmac_key`);
  if (!hmac) return { skip: 'no HMAC_KEY_BASE64: nftknock accepts only authenticated datagrams; make keys with fwknop --key-gen and send with --use-hmac' };
  const data: Raw = { key, hmac_key: hmac };
  const dig = s.vars.get('HMAC_DIGEST_TYPE');
  if (dig) {
    const d = dig.value.toLowerCase();
    if (!HMAC_DIGESTS.includes(d)) ctx.err(dig, `${path}.hmac_digest`, `"${dig.value}" is not one of MD5, SHA1, SHA256, SHA384, SHA512, SHA3_256, SHA3_512`);
    else if (d !== 'sha256') data.hmac_digest = d;
  }
  const src = at('SOURCE').value;
  if (!/^any$/i.test(src.trim())) {
    const nets = src.split(/[\s,]+/).filter(Boolean);
    for (const n of nets) if (!parseCidr(n)) ctx.err(at('SOURCE'), `${path}.from`, `"${n}" is not an address or network`);
    data.from = nets;
  }
  const user = s.vars.get('REQUIRE_USERNAME');
  if (user) data.username = user.value;
  if (isYes(s.vars.get('REQUIRE_SOURCE_ADDRESS') ?? s.vars.get('REQUIRE_SOURCE'))) data.require_address = true;
  const secs = (k: string): number | undefined => {
    const v = s.vars.get(k);
    if (!v) return undefined;
    if (!/^[0-9]{1,9}$/.test(v.value) || Number(v.value) < 1) ctx.err(v, path, `${k} "${v.value}" is not a whole number of seconds, at least 1`);
    return Number(v.value);
  };
  const t = secs('FW_ACCESS_TIMEOUT');
  const mt = secs('MAX_FW_TIMEOUT');
  if (t !== undefined && t !== FW_ACCESS_TIMEOUT) data.timeout = t;
  if (mt !== undefined && mt !== MAX_FW_TIMEOUT) data.max_timeout = Math.max(mt, t ?? 0);
  let open = s.vars.has('OPEN_PORTS') ? portList(ctx, at('OPEN_PORTS'), `${path}.open`) : undefined;
  const restrict = s.vars.has('RESTRICT_PORTS') ? portList(ctx, at('RESTRICT_PORTS'), path) : [];
  if (!open) {
    if (!input.defaultOpen) return { skip: 'no OPEN_PORTS: fwknopd opened whatever the client asked for; nftknock opens only listed services: add OPEN_PORTS, or run import-fwknop with --open' };
    ctx.warn({ line: s.line }, `stanza #${s.num} has no OPEN_PORTS: fwknopd opened whatever the client asked for; it may now open ${input.defaultOpen.map(formatPortSpec).join(', ')} (--open)`);
    open = [...input.defaultOpen];
  }
  const kept = open.filter((p) => !restrict.some((r) => r.port === p.port && r.proto === p.proto));
  if (kept.length === 0) return { skip: 'RESTRICT_PORTS removes every service of OPEN_PORTS' };
  // FORCE_NAT: each requested port is DNATed to the one internal host and port (a port forward).
  const services = kept.map((p) => (nat ? `${formatPortSpec(p)}=>${nat}` : formatPortSpec(p)));
  data.open = services;
  const dest = s.vars.get('DESTINATION');
  if (!dest || /^any$/i.test(dest.value.trim())) return { data, open: services };
  const nets = dest.value.split(/[\s,]+/).filter(Boolean);
  for (const n of nets) if (!parseCidr(n)) ctx.err(dest, `doors.${DOOR}.target`, `DESTINATION "${n}" is not an address or network`);
  return { data, open: services, dest: nets };
}

/** fwknopd.conf → interfaces, SPA port and window; warnings for the rest. */
function daemonSettings(ctx: Ctx, text: string, file: string, out: Raw, spa: Raw): void {
  const { vars, bad } = parseFwknopdConf(text);
  for (const l of bad) ctx.err({ line: l }, '', 'not a "VARIABLE value" line', file);
  const intf = vars.get('PCAP_INTF');
  if (intf && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(intf.value)) ctx.err(intf, '', `PCAP_INTF "${intf.value}" is not an interface name`, file);
  else if (intf) out.interfaces = [intf.value];
  const portOf = (v: FwknopValue, text: string | undefined): void => {
    const n = Number(text);
    if (!/^[0-9]{1,5}$/.test(text ?? '') || n < 1 || n > 65535) ctx.err(v, '', `${v.value}: the port is not 1-65535`, file);
    else spa.port = n;
  };
  const filter = vars.get('PCAP_FILTER');
  const port = filter ? /^udp\s+(?:dst\s+)?port\s+([0-9]+)$/i.exec(filter.value.trim()) : undefined;
  if (filter && port) portOf(filter, port[1]);
  else if (filter) ctx.warn(filter, `PCAP_FILTER "${filter.value}" is not "udp port N": the door listens on ${String(spa.port)}/udp; set spa.port`, file);
  const udp = vars.get('UDPSERV_PORT');
  if (isYes(vars.get('ENABLE_UDP_SERVER')) && udp) portOf(udp, udp.value);
  const age = vars.get('MAX_SPA_PACKET_AGE');
  if (age && /^[0-9]{1,6}$/.test(age.value)) {
    spa.window = Math.min(MAX_SPA_WINDOW_SEC, Math.max(5, Number(age.value)));
    if (Number(age.value) > MAX_SPA_WINDOW_SEC) ctx.warn(age, `MAX_SPA_PACKET_AGE ${age.value}: spa.window is at most ${MAX_SPA_WINDOW_SEC}s (a longer window keeps captured datagrams usable longer); imported as ${MAX_SPA_WINDOW_SEC}`, file);
  }
  const note: Record<string, (v: FwknopValue) => string | undefined> = {
    ENABLE_SPA_PACKET_AGING: (v) => (isYes(v) ? undefined : 'packet aging is always on in nftknock (spa.window)'),
    ENABLE_DIGEST_PERSISTENCE: (v) => (isYes(v) ? undefined : 'the replay cache is always on and persisted in state_dir'),
    ENABLE_PCAP_PROMISC: (v) => (isYes(v) ? 'nftknock never captures in promiscuous mode' : undefined),
    ENABLE_IPT_FORWARDING: (v) => (isYes(v) ? 'fwknop NAT requests (-N) are served only for the port forwards a stanza\'s open lists (e.g. 2222/tcp=>192.168.1.10:22): add them; ip_forward stays yours to enable' : undefined),
    ENABLE_IPT_LOCAL_NAT: (v) => (isYes(v) ? 'NAT is not imported' : undefined),
    ENABLE_SPA_OVER_HTTP: (v) => (isYes(v) ? 'SPA over HTTP is not supported (UDP only)' : undefined),
    ENABLE_TCP_SERVER: (v) => (isYes(v) ? 'SPA over TCP is not supported (UDP only)' : undefined),
  };
  const used = new Set(['PCAP_INTF', 'PCAP_FILTER', 'ENABLE_UDP_SERVER', 'UDPSERV_PORT', 'MAX_SPA_PACKET_AGE']);
  for (const [k, v] of vars) {
    if (used.has(k)) continue;
    const n = note[k] ? note[k](v) : `${k}: not used by nftknock (its own table, chains and logging replace it)`;
    if (n) ctx.warn(v, note[k] ? `${k}: ${n}` : n, file);
  }
}

const HEADER = [
  ' nftknock config translated from {file} by `knockctl import-fwknop`: one fwknop door, one client per',
  ' access.conf stanza. Existing fwknop clients and keys keep working (they need --use-hmac).',
  ' Review it, then check it with `knockctl check-config -c THIS_FILE`. It holds your keys: keep it mode 0600.',
  ' Differences from fwknopd: an address given with -a/-R must be the sender\'s own unless a client has',
  ' allow_address: true; -f is capped by max_timeout; NAT, commands and GnuPG are refused.',
  ' base.policy guard: your existing firewall stays in charge; stop fwknopd before starting nftknock on its port.',
];

function render(file: string, out: Raw, comments: ReadonlyMap<string, string>): string {
  const doc = new Document(out);
  doc.commentBefore = HEADER.map((l) => l.replace('{file}', file)).join('\n');
  visit(doc, {
    Pair(_, pair) {
      const k = String((pair.key as { value?: unknown } | null)?.value);
      if (['open', 'from', 'interfaces'].includes(k) && isSeq(pair.value)) pair.value.flow = true;
      const c = comments.get(k);
      if (c && pair.key && typeof pair.key === 'object') (pair.key as { commentBefore?: string }).commentBefore = ` ${c}`;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * A door's port is either served here or forwarded to one host (router doors): the first stanza to
 * use a port decides, a later one that would use it otherwise is left out. fwknopd allowed both.
 */
function portClash(taken: readonly string[], mine: readonly string[]): string | undefined {
  const local = (x: string): string => x.split('=>')[0] as string;
  for (const x of mine) {
    const other = taken.find((t) => t !== x && local(t) === local(x));
    if (other) return `${x} and ${other} (another stanza) use the same port ${local(x)}; one door serves a port here or forwards it, not both: give this stanza a door of its own on another spa.port`;
  }
  return undefined;
}

/** DESTINATION: the door's `target` when every imported stanza names the same; otherwise a warning each. */
function doorTarget(ctx: Ctx, dests: readonly { num: number; file: string; line: number; dest?: string[] }[]): string[] | undefined {
  const texts = new Set(dests.map((d) => (d.dest ?? ['ANY']).join(',')));
  const first = dests[0]?.dest;
  if (texts.size === 1) return first;
  for (const d of dests) if (d.dest) ctx.warn({ line: d.line }, `stanza #${d.num}: DESTINATION differs between stanzas and is not imported; the door's \`target\` applies to all its clients`, d.file);
  return undefined;
}

/** Translate. Throws ConfigError (each issue with its line) when a file is malformed or nothing is usable. */
export function importFwknop(input: FwknopImportInput): { yaml: string; warnings: string[] } {
  const ctx = new Ctx(input.accessFile);
  const parsed = parseAccessConf(input.accessText, input.accessFile, input.reader);
  for (const b of parsed.bad) ctx.err(b, '', b.message, b.file);
  for (const v of parsed.outside) {
    if (v.name.startsWith('%')) ctx.warn(v, `${v.name} ${v.value}: not followed; import that file too and merge its clients`, v.file);
    else ctx.err(v, '', `${v.name} before the first SOURCE: every stanza starts with SOURCE`, v.file);
  }
  const out: Raw = {};
  const spa: Raw = { format: 'fwknop', port: 62201, window: 120, max_timeout: MAX_FW_TIMEOUT };
  if (input.fwknopdText !== undefined) daemonSettings(ctx, input.fwknopdText, input.fwknopdFile ?? 'fwknopd.conf', out, spa);
  out.base = { policy: 'guard' };
  const clients: Raw = {};
  const comments = new Map<string, string>();
  const open: string[] = [];
  const dests: { num: number; file: string; line: number; dest?: string[] }[] = [];
  for (const s of parsed.stanzas) {
    ctx.at = s.file;
    const name = `stanza-${s.num}`;
    const r = stanzaClient(ctx, s, input, `doors.${DOOR}.spa.clients.${name}`);
    const clash = 'skip' in r ? undefined : portClash(open, r.open);
    if ('skip' in r || clash) {
      ctx.warn({ line: s.line }, `stanza #${s.num} NOT IMPORTED: ${'skip' in r ? r.skip : clash}`);
      continue;
    }
    dests.push({ num: s.num, file: s.file, line: s.vars.get('DESTINATION')?.line ?? s.line, ...(r.dest ? { dest: r.dest } : {}) });
    clients[name] = r.data;
    comments.set(name, `${s.file} line ${s.line}, stanza #${s.num}: SOURCE ${s.vars.get('SOURCE')?.value ?? ''}`);
    for (const x of r.open) if (!open.includes(x)) open.push(x);
  }
  ctx.at = input.accessFile;
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues, input.accessFile);
  if (Object.keys(clients).length === 0) {
    throw new ConfigError([{ path: '', message: `no stanza can be imported (${parsed.stanzas.length} found): see the warnings`, line: parsed.stanzas[0]?.line ?? 1 }], input.accessFile);
  }
  ctx.warnings.push(`${input.accessFile}: an address sent with -a must now be the sender's own (fwknopd allowed any); set allow_address: true on a client to keep fwknopd's behaviour`);
  const target = doorTarget(ctx, dests);
  out.doors = { [DOOR]: { spa: { ...spa, clients }, open, timeout: FW_ACCESS_TIMEOUT, ...(target ? { target } : {}) } };
  return { yaml: render(input.accessFile, out, comments), warnings: ctx.warnings };
}
