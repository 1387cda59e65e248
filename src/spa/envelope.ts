/**
 * The SPA v2 envelope (docs/spa-protocol.md, "Envelope" and "Key schedule"):
 *
 *   0     32  E: the client's ephemeral X25519 public key (bit 255 random; X25519 ignores it)
 *   32    p   ChaCha20-Poly1305 ciphertext of P = id || body || authenticator, AAD = E
 *   32+p  16  Poly1305 tag
 *   48+p  16  mac1 = SHA-256(K_mac1 || bytes 0 .. 48+p)[0..16]
 *
 *   D      = len(door) || door
 *   K_mac1 = HKDF(IKM = S_pub, salt = "", info = "nftknock-spa v2 mac1" || D)
 *   K      = HKDF(IKM = X25519(e, S_pub), salt = E || S_pub, info = "nftknock-spa v2 envelope" || D)
 *
 * mac1 needs only public material (the server identity and the door name): it rejects garbage
 * with one keyed hash. K needs the server's private key: a datagram made for one server or door
 * opens for no other. Only node:crypto primitives.
 */
import * as nodeCrypto from 'node:crypto';
import {
  type KeyObject, createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman,
  hkdfSync, sign, verify,
} from 'node:crypto';
import { EPH_LEN, MAC1_LEN, SIG_LEN, TAG_LEN } from './wire';

export type SpaMode = 'aead' | 'ed25519';

export const LABELS = {
  mac1: 'nftknock-spa v2 mac1',
  envelope: 'nftknock-spa v2 envelope',
  id: { aead: 'nftknock-spa v2 aead id', ed25519: 'nftknock-spa v2 ed25519 id' },
  auth: 'nftknock-spa v2 aead auth',
  /** Prefix of the transcript an aead client MACs and an Ed25519 client signs. */
  transcript: 'nftknock-spa v2 auth\0',
} as const;
const ZERO_IV = new Uint8Array(12);
const AEAD = 'chacha20-poly1305';
/** DER prefixes wrapping raw 32-byte keys (RFC 8410): SPKI for public keys, PKCS#8 for private ones. */
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

const EMPTY = new Uint8Array(0);
export const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, len: number): Uint8Array =>
  new Uint8Array(hkdfSync('sha256', ikm, salt, typeof info === 'string' ? Buffer.from(info, 'latin1') : info, len));

/** `len(door) || door`: the door name as it enters every label. */
export function doorBytes(door: string): Uint8Array {
  if (door.length < 1 || door.length > 255) throw new RangeError(`door name "${door}" is not 1-255 characters`);
  return Buffer.concat([Buffer.from([door.length]), Buffer.from(door, 'latin1')]);
}

const info = (label: string, door: string): Uint8Array => Buffer.concat([Buffer.from(label, 'latin1'), doorBytes(door)]);

/** The key of mac1 for one server and door (public material only). */
export function mac1Key(serverPub: Uint8Array, door: string): Uint8Array {
  return hkdf(serverPub, EMPTY, info(LABELS.mac1, door), 32);
}

/**
 * mac1 = SHA-256(K_mac1 || head)[0..16]: a keyed hash in prefix mode, like WireGuard's keyed BLAKE2s.
 * Its key is public material, so it proves knowledge of the server identity and door, not of a
 * secret; truncation to 16 bytes leaves no room for length extension. One-shot crypto.hash (Node
 * >= 20.12) over a reused buffer is about twice as fast as createHmac, and this is the one step
 * every garbage datagram pays.
 */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
const scratch = Buffer.alloc(32 + 2048);

function mac1Digest(key: Uint8Array, head: Uint8Array): Buffer {
  if (!oneShot || head.length > scratch.length - 32) return createHash('sha256').update(key).update(head).digest();
  scratch.set(key, 0);
  scratch.set(head, 32);
  return oneShot('sha256', scratch.subarray(0, 32 + head.length), 'buffer');
}

export function computeMac1(key: Uint8Array, head: Uint8Array): Uint8Array {
  return new Uint8Array(mac1Digest(key, head).subarray(0, MAC1_LEN));
}

/** True when the datagram's last 16 bytes are its mac1. The caller has checked the length. */
export function mac1Matches(key: Uint8Array, packet: Uint8Array): boolean {
  const end = packet.length - MAC1_LEN;
  const want = mac1Digest(key, packet.subarray(0, end));
  for (let i = 0; i < MAC1_LEN; i++) if (want[i] !== packet[end + i]) return false;
  return true;
}

/** The envelope key K from the shared X25519 secret. */
export function envelopeKey(shared: Uint8Array, eph: Uint8Array, serverPub: Uint8Array, door: string): Uint8Array {
  return hkdf(shared, Buffer.concat([eph, serverPub]), info(LABELS.envelope, door), 32);
}

export function seal(key: Uint8Array, eph: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = createCipheriv(AEAD, key, ZERO_IV, { authTagLength: TAG_LEN });
  c.setAAD(eph, { plaintextLength: plaintext.length });
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** The plaintext of `ct || tag`, or undefined when the tag does not verify. */
export function open(key: Uint8Array, eph: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const ct = sealed.subarray(0, sealed.length - TAG_LEN);
  const d = createDecipheriv(AEAD, key, ZERO_IV, { authTagLength: TAG_LEN });
  d.setAAD(eph, { plaintextLength: ct.length });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
  const pt = d.update(ct);
  try {
    d.final();
  } catch {
    return undefined;
  }
  return new Uint8Array(pt);
}

// ---- X25519 -----------------------------------------------------------------------------------

export function x25519PrivateKeyObject(priv: Uint8Array): KeyObject {
  if (priv.length !== 32) throw new RangeError(`an X25519 private key is 32 bytes, got ${priv.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, priv]), format: 'der', type: 'pkcs8' });
}

/** The raw public key of a raw private key (RFC 7748 clamping applies). */
export function x25519PublicFromPrivate(priv: Uint8Array): Uint8Array {
  const der = createPublicKey(x25519PrivateKeyObject(priv)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** X25519(priv, pub), or undefined for a low-order `pub` (all-zero result). */
export function x25519(priv: KeyObject, pub: Uint8Array): Uint8Array | undefined {
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519, pub.subarray(0, EPH_LEN)]), format: 'der', type: 'spki' });
    return new Uint8Array(diffieHellman({ privateKey: priv, publicKey }));
  } catch {
    return undefined;
  }
}

// ---- Ed25519 ----------------------------------------------------------------------------------

export function ed25519PublicKeyObject(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: 'der', type: 'spki' });
}

export function ed25519PrivateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

/** Raw 32-byte public key of a seed: the last 32 bytes of its SPKI encoding. */
export function ed25519PublicFromSeed(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(ed25519PrivateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, ed25519PrivateKeyObject(seed)));
}

export function ed25519Verify(pub: KeyObject, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return sig.length === SIG_LEN && verify(null, msg, pub, sig);
  } catch {
    return false;
  }
}

// ---- client identity and authenticator --------------------------------------------------------

/** The 16-byte client id the server looks clients up by; M is the aead key or the Ed25519 public key. */
export function clientId(mode: SpaMode, master: Uint8Array): Uint8Array {
  return hkdf(master, EMPTY, LABELS.id[mode], 16);
}

/** An aead client's authenticator key. */
export function authKey(aeadKey: Uint8Array): KeyObject {
  return createSecretKey(Buffer.from(hkdf(aeadKey, EMPTY, LABELS.auth, 32)));
}

/** What the client authenticates: transcript label || S_pub || D || E || id || body. */
export function transcript(serverPub: Uint8Array, door: string, eph: Uint8Array, id: Uint8Array, body: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(LABELS.transcript, 'latin1'), serverPub, doorBytes(door), eph, id, body]);
}

export function aeadAuth(key: KeyObject, tr: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(tr).digest());
}
