/**
 * The server's SPA identity: an X25519 key pair created on the server (in state_dir), never in the
 * config file, so two servers sharing one config still have different identities.
 *
 *   state file   nftknock-spa-identity v2 x25519 base64:<44: the private key>\n   (mode 0600)
 *   public form  x25519:<44: the public key>    (key files, `knockctl identity`)
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Outcome, ok, reject } from '../core';
import type { Door } from '../config';
import { x25519PublicFromPrivate } from './envelope';

export interface SpaIdentity {
  /** 32-byte X25519 private key. */
  readonly priv: Uint8Array;
  /** Its public key: what clients bind their datagrams to. */
  readonly pub: Uint8Array;
}

const FILE_TAG = 'nftknock-spa-identity v2 x25519';

/**
 * Whether a config needs this server's identity: only doors of nftknock's own format (v2) bind
 * datagrams to it; `format: fwknop` doors use their stanzas' keys alone.
 */
export function needsSpaIdentity(doors: readonly Door[]): boolean {
  return doors.some((d) => d.kind === 'spa' && d.spa.format !== 'fwknop');
}

export function generateIdentity(random: (n: number) => Uint8Array = randomBytes): SpaIdentity {
  const priv = new Uint8Array(random(32));
  if (priv.length !== 32) throw new RangeError('the random source must give 32 bytes');
  return { priv, pub: x25519PublicFromPrivate(priv) };
}

export function formatIdentityFile(id: SpaIdentity): string {
  return `${FILE_TAG} base64:${Buffer.from(id.priv).toString('base64')}\n`;
}

export function parseIdentityFile(text: string): Outcome<SpaIdentity, 'bad-identity'> {
  const m = /^nftknock-spa-identity v2 x25519 base64:([A-Za-z0-9+/]{43}=)\r?\n?$/.exec(text);
  const priv = m ? decode32(m[1] as string) : undefined;
  if (!priv) return reject('bad-identity', `not an SPA identity file; expected one line "${FILE_TAG} base64:<44 characters>"`);
  return ok({ priv, pub: x25519PublicFromPrivate(priv) });
}

/** `x25519:<base64>`: the identity as clients hold it. */
export function formatServerIdentity(pub: Uint8Array): string {
  return `x25519:${Buffer.from(pub).toString('base64')}`;
}

export function parseServerIdentity(text: string): Outcome<Uint8Array, 'bad-identity'> {
  const bytes = text.startsWith('x25519:') ? decode32(text.slice(7)) : undefined;
  return bytes ? ok(bytes) : reject('bad-identity', 'not a server identity: expected "x25519:" followed by 32 bytes in base64 (44 characters)');
}

/** A short, stable name of an identity for messages: the first 8 bytes of its SHA-256, hex. */
export function identityFingerprint(pub: Uint8Array): string {
  return createHash('sha256').update(pub).digest('hex').slice(0, 16);
}

export function decode32(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.length === 32 && b.toString('base64') === s ? new Uint8Array(b) : undefined;
}
