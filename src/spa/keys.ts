/**
 * SPA key material and its text forms (docs/spa-protocol.md, "Keys"):
 *   server config  key: "base64:<44>"          (AEAD client, the shared key)
 *                  public_key: "ed25519:<44>"  (Ed25519 client, its public key)
 *   client file    nftknock-spa-key v1 aead base64:<44>\n
 *                  nftknock-spa-key v1 ed25519 base64:<44>\n   (the 32-byte private seed)
 */
import { randomBytes } from 'node:crypto';
import { type Outcome, ok, reject } from '../core';
import { ed25519PublicFromSeed } from './envelope';

/** A client's secret: the shared AEAD key, or its Ed25519 private seed. */
export type SpaClientKey = { readonly type: 'aead'; readonly key: Uint8Array } | { readonly type: 'ed25519'; readonly seed: Uint8Array };

export type KeyParseReason = 'bad-key';

const FILE_TAG = 'nftknock-spa-key v1';
const B64_32 = /^[A-Za-z0-9+/]{43}=$/;

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

/** The client key file's content (one line). */
export function formatClientKeyFile(k: SpaClientKey): string {
  return `${FILE_TAG} ${k.type} base64:${b64(k.type === 'aead' ? k.key : k.seed)}\n`;
}

export function parseClientKeyFile(text: string): Outcome<SpaClientKey, KeyParseReason> {
  const line = text.replace(/\r?\n$/, '');
  const m = /^nftknock-spa-key v1 (aead|ed25519) base64:(\S*)$/.exec(line);
  if (!m) {
    const shown = JSON.stringify(line.length > 40 ? `${line.slice(0, 24)}...` : line.replace(/base64:\S+/, 'base64:...'));
    return reject('bad-key', `${shown} is not an SPA key file; expected one line "${FILE_TAG} aead|ed25519 base64:<44 characters>" (from knockctl keygen)`);
  }
  const bytes = decode32(m[2] as string);
  if (!bytes) return reject('bad-key', 'the key after "base64:" is not 32 bytes in base64 (44 characters ending in "=")');
  return ok(m[1] === 'aead' ? { type: 'aead', key: bytes } : { type: 'ed25519', seed: bytes });
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

function decode32(s: string): Uint8Array | undefined {
  if (!B64_32.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.length === 32 && b.toString('base64') === s ? new Uint8Array(b) : undefined;
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}
