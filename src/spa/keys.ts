/**
 * SPA client key material and its text forms (docs/spa-protocol.md, "Keys"):
 *   server config  key: "base64:<44>"          (aead client: the shared key)
 *                  public_key: "ed25519:<44>"  (Ed25519 client: its public key)
 *   client file    nftknock-spa-key v2, then `field: value` lines (see formatClientKeyFile):
 *                  the secret, and the server identity, door and port it is for.
 */
import { randomBytes } from 'node:crypto';
import { type Outcome, ok, reject } from '../core';
import { ed25519PublicFromSeed } from './envelope';
import { decode32, formatServerIdentity, parseServerIdentity } from './identity';

/** A client's secret: the shared AEAD key, or its Ed25519 private seed. */
export type SpaClientKey = { readonly type: 'aead'; readonly key: Uint8Array } | { readonly type: 'ed25519'; readonly seed: Uint8Array };

/** Where a key is used: the server's identity and the door (and how to reach it). */
export interface SpaTarget {
  /** The server identity (X25519 public key). */
  readonly server?: Uint8Array;
  readonly door?: string;
  readonly port?: number;
  /** The host name or address keygen was told clients use. */
  readonly host?: string;
  /** The client's name in the server config (informational). */
  readonly name?: string;
  /** The door refuses datagrams that do not carry the sender's address. */
  readonly requireAddress?: boolean;
}

/** A whole client key file. */
export interface ClientKeyFile extends SpaTarget {
  readonly key: SpaClientKey;
}

export type KeyParseReason = 'bad-key';

const FILE_TAG = 'nftknock-spa-key v2';
const FIELDS = ['mode', 'secret', 'server', 'door', 'port', 'host', 'name', 'require_address'] as const;
const DOOR_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const HOST_RE = /^[A-Za-z0-9.:_-]{1,253}$/;

/** A fresh client key. `random` defaults to node:crypto's randomBytes. */
export function generateClientKey(type: 'aead' | 'ed25519', random: (n: number) => Uint8Array = randomBytes): SpaClientKey {
  const bytes = new Uint8Array(random(32));
  if (bytes.length !== 32) throw new RangeError('the random source must give 32 bytes');
  return type === 'aead' ? { type, key: bytes } : { type, seed: bytes };
}

/** What the server's config holds for this client: `key: "base64:..."` or `public_key: "ed25519:..."`. */
export function serverEntryOf(k: SpaClientKey): { readonly key: string } | { readonly public_key: string } {
  return k.type === 'aead' ? { key: `base64:${b64(k.key)}` } : { public_key: `ed25519:${b64(ed25519PublicFromSeed(k.seed))}` };
}

/** The lines of a target (server, door, port, host, name, require_address) as a key file holds them. */
export function formatTargetLines(t: SpaTarget): string {
  return [
    t.server ? `server: ${formatServerIdentity(t.server)}` : '',
    t.door !== undefined ? `door: ${t.door}` : '',
    t.port !== undefined ? `port: ${t.port}` : '',
    t.host !== undefined ? `host: ${t.host}` : '',
    t.name !== undefined ? `name: ${t.name}` : '',
    t.requireAddress ? 'require_address: true' : '',
  ].filter(Boolean).map((l) => `${l}\n`).join('');
}

/** The client key file's content. */
export function formatClientKeyFile(f: ClientKeyFile): string {
  const k = f.key;
  return `# nftknock SPA client key: keep it secret (mode 0600)\n${FILE_TAG}\nmode: ${k.type}\nsecret: base64:${b64(k.type === 'aead' ? k.key : k.seed)}\n${formatTargetLines(f)}`;
}

/** Parse a key file. Messages never echo key material. */
export function parseClientKeyFile(text: string): Outcome<ClientKeyFile, KeyParseReason> {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines[0] !== FILE_TAG) {
    return reject('bad-key', `not an SPA key file: the first line must be "${FILE_TAG}", then "mode: aead|ed25519" and "secret: base64:<44 characters>" (from knockctl keygen)`);
  }
  const f: Partial<Record<(typeof FIELDS)[number], string>> = {};
  for (const line of lines.slice(1)) {
    const m = /^([a-z_]+):\s*(\S+)$/.exec(line);
    const field = m?.[1] as (typeof FIELDS)[number] | undefined;
    // Name the field at most: an unknown line may be a pasted key, which must not reach a terminal or log.
    const name = /^([a-z_]{1,20}):/.exec(line)?.[1];
    if (!m || !field || !FIELDS.includes(field)) return reject('bad-key', `${name ? `field "${name}"` : 'a line without "field: value"'} is not one of ${FIELDS.join(', ')} followed by ": value"`);
    if (f[field] !== undefined) return reject('bad-key', `"${field}" is given twice`);
    f[field] = m[2] as string;
  }
  if (f.mode !== 'aead' && f.mode !== 'ed25519') return reject('bad-key', 'mode: must be aead or ed25519');
  const secret = f.secret?.startsWith('base64:') ? decode32(f.secret.slice(7)) : undefined;
  if (!secret) return reject('bad-key', 'secret: must be "base64:" followed by 32 bytes in base64 (44 characters ending in "=")');
  const key: SpaClientKey = f.mode === 'aead' ? { type: 'aead', key: secret } : { type: 'ed25519', seed: secret };
  const target = parseTarget(f);
  return target.ok ? ok({ key, ...target.value }) : target;
}

function parseTarget(f: Partial<Record<(typeof FIELDS)[number], string>>): Outcome<SpaTarget, KeyParseReason> {
  const out: { -readonly [K in keyof SpaTarget]: SpaTarget[K] } = {};
  if (f.server !== undefined) {
    const s = parseServerIdentity(f.server);
    if (!s.ok) return reject('bad-key', `server: ${s.detail ?? ''}`);
    out.server = s.value;
  }
  if (f.door !== undefined) {
    if (!DOOR_RE.test(f.door)) return reject('bad-key', `door: "${f.door}" is not a door name`);
    out.door = f.door;
  }
  if (f.port !== undefined) {
    const p = Number(f.port);
    if (!/^[0-9]{1,5}$/.test(f.port) || p < 1 || p > 65535) return reject('bad-key', `port: "${f.port}" is not a port 1-65535`);
    out.port = p;
  }
  if (f.host !== undefined) {
    if (!HOST_RE.test(f.host)) return reject('bad-key', `host: "${f.host}" is not a host name or address`);
    out.host = f.host;
  }
  if (f.name !== undefined) out.name = f.name;
  if (f.require_address !== undefined) {
    if (f.require_address !== 'true' && f.require_address !== 'false') return reject('bad-key', 'require_address: must be true or false');
    out.requireAddress = f.require_address === 'true';
  }
  return ok(out);
}

/** `base64:<44>` from the server config (an AEAD client key). */
export function parseServerKey(text: string): Outcome<Uint8Array, KeyParseReason> {
  return parsePrefixed(text, 'base64:', 'a symmetric key');
}

/** `ed25519:<44>` from the server config (an Ed25519 public key). */
export function parseServerPublicKey(text: string): Outcome<Uint8Array, KeyParseReason> {
  return parsePrefixed(text, 'ed25519:', 'an Ed25519 public key');
}

/**
 * A key file must be readable by its owner only. `mode` is `stat().mode`. Refuses any group or
 * other permission bit (read alone would leak the key; write would let someone swap it).
 */
export function checkKeyFileMode(mode: number, file: string): Outcome<void, 'key-file-mode'> {
  if ((mode & 0o077) === 0) return ok(undefined);
  const m = (mode & 0o777).toString(8).padStart(3, '0');
  return reject('key-file-mode', `${file} has mode ${m}, readable or writable by others; run: chmod 600 ${file}`);
}

function parsePrefixed(text: string, prefix: string, what: string): Outcome<Uint8Array, KeyParseReason> {
  const bytes = text.startsWith(prefix) ? decode32(text.slice(prefix.length)) : undefined;
  return bytes ? ok(bytes) : reject('bad-key', `not ${what}: expected "${prefix}" followed by 32 bytes in base64 (44 characters)`);
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}
