/** `knockctl spa`: the SPA client (one UDP datagram, no root, no reply). */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { UsageError, KnockctlError, formatService, parseAddr, parseDuration, parseService } from '../core';
import { loadClientConfigText, type ClientStanza } from '../spa/client-config';
import {
  buildSpaPacket, checkKeyFileMode, formatServerIdentity, identityFingerprint, parseClientKeyFile, parsePublicAddress, parseServerIdentity,
  type ClientKeyFile,
} from '../spa';
import { fetchText } from '../io/http-text';
import { writeFileAtomicSync } from '../io/atomic-file';
import { fileError, resolveError } from './system-errors';
import { parseDurationArg } from './duration-arg';

export interface SpaOptions {
  clientConfig?: string;
  key?: string;
  port?: string;
  open?: string[];
  allow?: string;
  allowSource?: boolean;
  resolveUrl?: string;
  timeout?: string;
  timeOffset?: string;
  serverIdentity?: string;
  door?: string;
  anyHost?: boolean;
  test?: boolean;
  print?: boolean;
  savePacket?: string;
  force?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  verbose?: boolean;
}

/** Read a client key file, refusing one that others can read. */
export function readKeyFile(file: string): ClientKeyFile {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw fileError('key file', file, e);
  }
  const mode = checkKeyFileMode(st.mode, file);
  if (!mode.ok) throw new UsageError(mode.detail ?? `${file}: group or others may read it; run chmod 600 ${file}`);
  const k = parseClientKeyFile(readFileSync(file, 'utf8'));
  if (!k.ok) throw new UsageError(`${file}: ${k.detail ?? 'not a knockctl key file'}`);
  return k.value;
}

async function resolveHost(host: string, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }> {
  const lit = parseAddr(host);
  if (lit) return { address: lit.text, family: lit.family };
  try {
    const r = await lookup(host, family ? { family } : {});
    return { address: r.address, family: r.family === 6 ? 6 : 4 };
  } catch (e) {
    throw resolveError(host, e);
  }
}

async function addressesOf(host: string): Promise<string[]> {
  const lit = parseAddr(host);
  if (lit) return [lit.text];
  return (await lookup(host, { all: true }).catch(() => [])).map((r) => parseAddr(r.address)?.text ?? r.address);
}

/** `~/.config/knockctl/client.yaml`, or `--client-config`, or $KNOCKCTL_CLIENT_CONFIG. */
function clientConfigPath(opt: string | undefined): { file: string; explicit: boolean } {
  const explicit = opt ?? process.env.KNOCKCTL_CLIENT_CONFIG;
  return explicit ? { file: explicit, explicit: true } : { file: join(homedir(), '.config/knockctl/client.yaml'), explicit: false };
}

/** The stanza named `target`, if the client config has one (a missing default file is fine). */
function stanzaFor(target: string, opt: string | undefined): ClientStanza | undefined {
  const { file, explicit } = clientConfigPath(opt);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError('client config', file, e);
  }
  return loadClientConfigText(text, file).get(target);
}

const expandHome = (p: string): string => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);

/** `-o` value: any `open` entry's form, sent as its canonical text. */
function serviceArg(s: string): string {
  const r = parseService(s);
  if (!r.ok) throw new UsageError(`--open ${r.detail ?? s}`);
  return formatService(r.value);
}

/** `-30s`, `+5m`, `90`: seconds the client clock is off; added to it. */
export function parseTimeOffset(s: string): number {
  const m = /^([+-]?)(.+)$/.exec(s.trim());
  const n = m ? parseDuration(m[2] as string) : undefined;
  if (!m || n === undefined) throw new UsageError(`--time-offset ${s}: a signed duration such as -30s, +5m or 90`);
  return (m[1] === '-' ? -1 : 1) * n;
}

/** Where the datagram goes and what it is bound to, with a clear message for every mismatch. */
async function targetOf(keyFile: string, f: ClientKeyFile, host: string, st: ClientStanza | undefined, opts: SpaOptions): Promise<{ server: Uint8Array; door: string; port: number }> {
  const idText = opts.serverIdentity ?? st?.server;
  let server = f.server;
  if (idText !== undefined) {
    const p = parseServerIdentity(idText);
    if (!p.ok) throw new UsageError(`server identity "${idText}": ${p.detail ?? ''}`);
    if (server && !Buffer.from(server).equals(p.value)) {
      throw new UsageError(`${keyFile} is for the server with identity ${identityFingerprint(server)}, not ${identityFingerprint(p.value)}: this key would open nothing there`);
    }
    server = p.value;
  }
  const doorOpt = opts.door ?? st?.door;
  if (f.door !== undefined && doorOpt !== undefined && doorOpt !== f.door) {
    throw new UsageError(`${keyFile} is for door "${f.door}", not "${doorOpt}": a datagram made for one door opens no other`);
  }
  const door = f.door ?? doorOpt;
  if (!server || door === undefined) {
    throw new UsageError(`${keyFile} does not say which server and door it is for: append the lines 'knockctl identity -c CONFIG --door DOOR' prints on the server, or pass --server-identity and --door`);
  }
  if (st?.name !== undefined && f.name !== undefined && st.name !== f.name) throw new UsageError(`${keyFile} is the key of "${f.name}", the stanza says "${st.name}"`);
  if (f.host !== undefined && !opts.anyHost && f.host.toLowerCase() !== host.toLowerCase()) {
    const [mine, theirs] = await Promise.all([addressesOf(f.host), addressesOf(host)]);
    if (!mine.some((a) => theirs.includes(a))) {
      throw new UsageError(`${keyFile} was made for door "${door}" of server ${f.host} (identity ${identityFingerprint(server)}), and ${host} is not that host; ` +
        'pass --any-host if it is the same server under another name or address');
    }
  }
  const portText = opts.port ?? (st?.port !== undefined ? String(st.port) : undefined);
  const port = portText !== undefined ? Number(portText) : f.port ?? 62201;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port ${portText}: not a port 1-65535`);
  if (f.port !== undefined && port !== f.port && opts.verbose) process.stderr.write(`note: door "${door}" listens on ${f.port}/udp per ${keyFile}; sending to ${port}/udp\n`);
  return { server, door, port };
}

/** The address the datagram carries, if any: -a, -R URL, the stanza's, or (for a require_address door) the local source. */
async function addressOf(f: ClientKeyFile, st: ClientStanza | undefined, opts: SpaOptions, sock: () => Promise<Socket>): Promise<string | undefined> {
  if (opts.allowSource) return undefined;
  if (opts.allow !== undefined) {
    const a = parseAddr(opts.allow);
    if (!a) throw new UsageError(`--allow ${opts.allow}: not an IPv4 or IPv6 address`);
    return a.text;
  }
  const url = opts.resolveUrl ?? st?.resolveUrl;
  if (url !== undefined) {
    const found = parsePublicAddress(await fetchText(url));
    if (!found) throw new KnockctlError('ERR_RESOLVE_URL', `${url} answered without an IPv4 or IPv6 address`);
    if (opts.verbose) process.stderr.write(`public address from ${url}: ${found}\n`);
    return found;
  }
  if (st?.allow !== undefined) return st.allow;
  // A door that requires the address: the address this host sends from (right unless behind NAT; then use -R).
  if (f.requireAddress) return (await sock()).address().address;
  return undefined;
}

export async function spaCommand(hostOrStanza: string, opts: SpaOptions): Promise<number> {
  const st = stanzaFor(hostOrStanza, opts.clientConfig);
  if (opts.allow && opts.allowSource) throw new UsageError('--allow ADDR and --allow-source exclude each other');
  if (opts.allow && opts.resolveUrl) throw new UsageError('--allow ADDR and --resolve-url URL exclude each other');
  if (st?.rotate && !opts.key) throw new UsageError(`"${hostOrStanza}" is a rotating knock door's stanza: knockctl knock --door ${hostOrStanza}`);
  const keyFile = opts.key ?? (st?.keyFile ? expandHome(st.keyFile) : undefined);
  if (!keyFile) throw new UsageError(`--key FILE is required: "${hostOrStanza}" is not a stanza of the client config (create a key on the server with: knockctl keygen -c CONFIG --door DOOR -n NAME -o FILE)`);
  const f = readKeyFile(keyFile);
  const host = st?.host ?? hostOrStanza;
  const { server, door, port } = await targetOf(keyFile, f, host, st, opts);
  const access = opts.open?.length ? opts.open.map(serviceArg) : [...(st?.open ?? [])];
  const timeoutSec = opts.timeout === undefined ? st?.timeoutSec : parseDurationArg('--timeout', opts.timeout, { min: 1, max: 0xffffffff });
  const offsetMs = opts.timeOffset !== undefined ? parseTimeOffset(opts.timeOffset) * 1000 : 0;
  const target = await resolveHost(host, opts.ipv4 ? 4 : opts.ipv6 ? 6 : undefined);
  let socket: Socket | undefined;
  const sock = async (): Promise<Socket> => {
    if (!socket) {
      const s = createSocket(target.family === 6 ? 'udp6' : 'udp4');
      socket = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.connect(port, target.address, () => resolve());
      });
    }
    return socket;
  };
  try {
    const addr = await addressOf(f, st, opts, sock);
    const nowMs = Date.now() + offsetMs;
    const packet = buildSpaPacket({ key: f.key, server, door, access, nowMs, ...(addr ? { addr } : {}), ...(timeoutSec !== undefined ? { timeoutSec } : {}) });
    if (opts.savePacket) writeFileAtomicSync(opts.savePacket, packet, { mode: 0o600, ...(opts.force ? { force: true } : {}) });
    if (opts.test || opts.print) {
      process.stdout.write(describe({ packet, host, target: target.address, port, door, server, f, access, addr, timeoutSec, nowMs, offsetMs }));
      if (opts.print) process.stdout.write(`${Buffer.from(packet).toString('hex')}\n`);
      return 0;
    }
    const s = await sock();
    await new Promise<void>((resolve, reject) => s.send(packet, (e) => (e ? reject(e) : resolve())));
    if (opts.verbose) process.stderr.write(`sent ${packet.length}-byte SPA datagram to ${target.address} port ${port}/udp (door ${door}${addr ? `, address ${addr}` : ''})\n`);
    return 0;
  } finally {
    socket?.close();
  }
}

interface Shown {
  packet: Uint8Array; host: string; target: string; port: number; door: string; server: Uint8Array; f: ClientKeyFile;
  access: string[]; addr: string | undefined; timeoutSec: number | undefined; nowMs: number; offsetMs: number;
}

function describe(s: Shown): string {
  const off = s.offsetMs ? ` (clock ${s.offsetMs > 0 ? '+' : ''}${s.offsetMs / 1000}s)` : '';
  return [
    `SPA v2 datagram, ${s.packet.length} bytes: built, not sent`,
    `  to:        ${s.host} (${s.target}) port ${s.port}/udp`,
    `  door:      ${s.door}`,
    `  server:    ${formatServerIdentity(s.server)} (${identityFingerprint(s.server)})`,
    `  key:       ${s.f.key.type}${s.f.name ? ` (${s.f.name})` : ''}`,
    `  services:  ${s.access.length ? s.access.join(', ') : 'everything the door lets this client open'}`,
    `  address:   ${s.addr ?? 'the datagram\'s source'}`,
    `  timeout:   ${s.timeoutSec !== undefined ? `${s.timeoutSec}s (capped by the door)` : 'the door\'s'}`,
    `  timestamp: ${new Date(s.nowMs).toISOString()}${off}`,
    '',
  ].join('\n');
}
