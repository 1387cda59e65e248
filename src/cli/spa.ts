/** `knockctl spa` (client: one UDP datagram, no root) and `knockctl keygen`. */
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { UsageError, parseAddr, type PortSpec } from '../core';
import { loadClientConfigText, type ClientStanza } from '../spa/client-config';
import { buildSpaPacket, checkKeyFileMode, formatClientKeyFile, generateClientKey, parseClientKeyFile, serverEntryOf, type SpaClientKey } from '../spa';
import { parsePortArgs } from './context';
import { fileError, resolveError } from './system-errors';
import { parseDurationArg } from './duration-arg';

export interface SpaOptions {
  clientConfig?: string;
  key?: string;
  name?: string;
  port?: string;
  open?: string[];
  allow?: string;
  allowSource?: boolean;
  timeout?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  verbose?: boolean;
}

/** Read a client key file, refusing one that others can read. */
export function readKeyFile(file: string): SpaClientKey {
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

export async function spaCommand(hostOrStanza: string, opts: SpaOptions): Promise<number> {
  const st = stanzaFor(hostOrStanza, opts.clientConfig);
  if (opts.allow && opts.allowSource) throw new UsageError('--allow ADDR and --allow-source exclude each other');
  if (st?.rotate && !opts.key) throw new UsageError(`"${hostOrStanza}" is a rotating knock door's stanza: knockctl knock --door ${hostOrStanza}`);
  const keyFile = opts.key ?? (st?.keyFile ? expandHome(st.keyFile) : undefined);
  if (!keyFile) throw new UsageError(`--key FILE is required: "${hostOrStanza}" is not a stanza of the client config (create a key with: knockctl keygen)`);
  const key = readKeyFile(keyFile);
  const host = st?.host ?? hostOrStanza;
  const port = Number(opts.port ?? st?.port ?? 62201);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port ${opts.port}: not a port 1-65535`);
  const access: PortSpec[] = opts.open?.length ? parsePortArgs(opts.open) : [...(st?.open ?? [])];
  const timeoutSec = opts.timeout === undefined ? st?.timeoutSec : parseDurationArg('--timeout', opts.timeout, { min: 1, max: 0xffffffff });
  const allow = opts.allowSource ? undefined : opts.allow ?? st?.allow;
  const name = opts.name ?? st?.name;
  const target = await resolveHost(host, opts.ipv4 ? 4 : opts.ipv6 ? 6 : undefined);
  const packet = buildSpaPacket({
    key, access, nowMs: Date.now(),
    ...(allow ? { addr: allow } : {}),
    ...(name ? { name } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
  });
  const sock = createSocket(target.family === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => sock.send(packet, port, target.address, (e) => (e ? reject(e) : resolve())));
  sock.close();
  if (opts.verbose) process.stderr.write(`sent ${packet.length}-byte SPA packet to ${target.address} port ${port}/udp\n`);
  return 0;
}

export function keygenCommand(opts: { ed25519?: boolean; name?: string; out?: string; force?: boolean }): number {
  const name = opts.name ?? 'client';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,31}$/.test(name)) throw new UsageError(`--name ${name}: letters, digits, '_', '.', '@', '-'`);
  const key = generateClientKey(opts.ed25519 ? 'ed25519' : 'aead');
  const out = opts.out ?? `${name}.key`;
  if (existsSync(out) && !opts.force) throw new UsageError(`${out} exists; choose another --out or pass --force`);
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  writeFileSync(out, formatClientKeyFile(key), { mode: 0o600, flag: opts.force ? 'w' : 'wx' });
  const entry = serverEntryOf(key);
  const [k, v] = Object.entries(entry)[0] as [string, string];
  process.stdout.write(
    `client key written to ${out} (mode 0600): copy it to the client, e.g. ~/.config/knockctl/${name}.key\n` +
      `add this under doors.<door>.spa.clients in the server config${key.type === 'aead' ? ' (it is the same secret: keep the config root-only)' : ' (a public key: not secret)'}:\n\n` +
      `        ${name}: { ${k}: "${v}" }\n`,
  );
  return 0;
}
