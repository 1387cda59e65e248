/**
 * fwknop's cryptography with node:crypto: the HMAC over the base64 text, and Rijndael (AES-256) in
 * CBC mode with fwknop's salted key derivation (cipher_funcs.c, rij_salt_and_iv: OpenSSL's
 * EVP_BytesToKey with MD5 and one round, so `openssl enc -aes-256-cbc -md md5` reads the same data):
 *
 *   D_1 = MD5(key || salt),  D_i = MD5(D_{i-1} || key || salt);  AES key = D_1 || D_2,  IV = D_3
 *
 * fwknop's `legacy` mode (pre-2.5 key padding) cannot be combined with an HMAC, so it is not here.
 */
import { type KeyObject, createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { FwknopHmacDigest } from '../../config';
import { SALTED_PREFIX } from './wire';

/** HMAC length in base64 characters without padding, per digest. */
export const HMAC_B64_LEN: Readonly<Record<FwknopHmacDigest, number>> = {
  md5: 22, sha1: 27, sha256: 43, sha384: 64, sha512: 86, sha3_256: 43, sha3_512: 86,
};
const NODE_DIGEST: Readonly<Record<FwknopHmacDigest, string>> = {
  md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', sha3_256: 'sha3-256', sha3_512: 'sha3-512',
};
const SALT_HEADER = Buffer.from('Salted__', 'latin1');
const BLOCK = 16;

function b64NoPad(b: Uint8Array): string {
  return Buffer.from(b).toString('base64').replace(/=+$/, '');
}

const PREFIX_BYTES = Buffer.from(SALTED_PREFIX, 'latin1');
/** One KeyObject per HMAC key: importing a raw key on every packet costs more than the HMAC itself. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function hmacKeyObject(k: Uint8Array): KeyObject {
  let o = keyObjects.get(k);
  if (!o) {
    o = createSecretKey(k);
    keyObjects.set(k, o);
  }
  return o;
}

/** The HMAC (base64, unpadded) of a datagram body, the ciphertext text as sent (prefix cut). */
export function fwknopHmac(digest: FwknopHmacDigest, hmacKey: Uint8Array, body: string | Uint8Array): string {
  const h = createHmac(NODE_DIGEST[digest], hmacKeyObject(hmacKey)).update(PREFIX_BYTES);
  return b64NoPad((typeof body === 'string' ? h.update(body, 'latin1') : h.update(body)).digest());
}

/**
 * Does `datagram` (its bytes, or its text) end in a valid HMAC of the rest under this key? The
 * base64 text is compared, as fwknopd does: comparing decoded bytes would accept a last character
 * whose unused bits differ, a new datagram (and replay key) with the same HMAC. Constant time.
 */
export function hmacMatches(digest: FwknopHmacDigest, hmacKey: Uint8Array, datagram: string | Uint8Array): boolean {
  const n = HMAC_B64_LEN[digest];
  const bytes = typeof datagram === 'string' ? Buffer.from(datagram, 'latin1') : datagram;
  if (bytes.length <= n) return false;
  const want = Buffer.from(fwknopHmac(digest, hmacKey, bytes.subarray(0, bytes.length - n)), 'latin1');
  return timingSafeEqual(want, bytes.subarray(bytes.length - n));
}

/** fwknop's key and IV for one salt. */
export function deriveKeyIv(key: Uint8Array, salt: Uint8Array): { key: Buffer; iv: Buffer } {
  const pw = Buffer.from(key);
  const parts: Buffer[] = [];
  let prev = Buffer.alloc(0);
  while (parts.length < 3) {
    prev = createHash('md5').update(prev).update(pw).update(salt).digest();
    parts.push(prev);
  }
  const kiv = Buffer.concat(parts);
  return { key: kiv.subarray(0, 32), iv: kiv.subarray(32, 48) };
}

/**
 * Is this body Rijndael ciphertext, i.e. does "U2FsdGVkX1" + body decode to "Salted__" + salt? The
 * client cuts "hQ" off GnuPG ciphertext instead; its first character then almost never completes
 * "Salted__" (a 1 in 16 chance), which is how an authentic GnuPG datagram is told apart.
 */
export function isRijndaelBody(body: string): boolean {
  return body.length >= 2 && Buffer.from(SALTED_PREFIX + body.slice(0, 2), 'base64').subarray(0, 8).equals(SALT_HEADER);
}

/**
 * Decrypt a datagram body (the base64 ciphertext text as sent, HMAC removed). Returns the plaintext
 * (latin1), or undefined when it is not fwknop ciphertext or the padding is wrong (a wrong key).
 */
export function decryptBody(body: string, key: Uint8Array): string | undefined {
  const raw = Buffer.from(SALTED_PREFIX + body, 'base64');
  if (raw.length < 2 * BLOCK || (raw.length - BLOCK) % BLOCK !== 0 || !raw.subarray(0, 8).equals(SALT_HEADER)) return undefined;
  const k = deriveKeyIv(key, raw.subarray(8, 16));
  const d = createDecipheriv('aes-256-cbc', k.key, k.iv).setAutoPadding(false);
  const plain = Buffer.concat([d.update(raw.subarray(BLOCK)), d.final()]);
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || !plain.subarray(plain.length - pad).every((b) => b === pad)) return undefined;
  return plain.subarray(0, plain.length - pad).toString('latin1');
}

/** Encrypt a plaintext as the fwknop client does; returns the body text (prefix cut). For tests and the bench. */
export function encryptBody(plaintext: string, key: Uint8Array, salt: Uint8Array): string {
  const k = deriveKeyIv(key, salt);
  const c = createCipheriv('aes-256-cbc', k.key, k.iv);
  const raw = Buffer.concat([SALT_HEADER, Buffer.from(salt), c.update(plaintext, 'latin1'), c.final()]);
  return b64NoPad(raw).slice(SALTED_PREFIX.length);
}
