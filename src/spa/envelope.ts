/**
 * The SPA envelope (docs/spa-protocol.md, "Envelope" and "Key schedule"):
 *
 *   0   24  nonce N, random
 *   24   8  hint  = HMAC-SHA256(K_hint, N)[0..8]
 *   32   n  ciphertext of the plaintext (body, then the Ed25519 signature in ed25519 mode)
 *   32+n 16 Poly1305 tag
 *
 * K_pkt = HMAC-SHA256(K_enc, N) keys ChaCha20-Poly1305 with an all-zero 12-byte IV (each key seals
 * exactly one message), AAD = N || hint. Only node:crypto primitives.
 */
import { type KeyObject, createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, createSecretKey, hkdfSync, sign, timingSafeEqual, verify } from 'node:crypto';
import { HINT_LEN, NONCE_LEN, SIG_LEN, TAG_LEN } from './wire';

export type SpaMode = 'aead' | 'ed25519';

/** HKDF `info` labels: one per mode and use, so no key ever serves two purposes. */
export const LABELS = {
  aead: { hint: 'nftknock-spa v1 aead hint', enc: 'nftknock-spa v1 aead envelope' },
  ed25519: { hint: 'nftknock-spa v1 ed25519 hint', enc: 'nftknock-spa v1 ed25519 envelope' },
} as const;
/** Prefix of the message an Ed25519 client signs: context string, then N || hint || body. */
export const SIG_CONTEXT = 'nftknock-spa v1 ed25519 signature\0';
const ZERO_IV = new Uint8Array(12);
const AEAD = 'chacha20-poly1305';
/** DER prefixes wrapping a raw 32-byte Ed25519 key (RFC 8410): SPKI for public, PKCS#8 for the seed. */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Sub-keys of one client, derived once: master M is the AEAD key, or the Ed25519 public key. */
export interface EnvelopeKeys {
  readonly mode: SpaMode;
  readonly hint: KeyObject;
  readonly enc: KeyObject;
}

export function deriveEnvelopeKeys(mode: SpaMode, master: Uint8Array): EnvelopeKeys {
  if (master.length !== 32) throw new RangeError(`an SPA ${mode} key is 32 bytes, got ${master.length}`);
  const d = (info: string): KeyObject => createSecretKey(Buffer.from(hkdfSync('sha256', master, new Uint8Array(0), info, 32)));
  return { mode, hint: d(LABELS[mode].hint), enc: d(LABELS[mode].enc) };
}

export function computeHint(keys: EnvelopeKeys, nonce: Uint8Array): Uint8Array {
  return createHmac('sha256', keys.hint).update(nonce).digest().subarray(0, HINT_LEN);
}

/** True when the packet's hint (bytes 24..32) belongs to these keys. */
export function hintMatches(keys: EnvelopeKeys, packet: Uint8Array): boolean {
  const want = computeHint(keys, packet.subarray(0, NONCE_LEN));
  return timingSafeEqual(want, packet.subarray(NONCE_LEN, NONCE_LEN + HINT_LEN));
}

function packetKey(keys: EnvelopeKeys, nonce: Uint8Array): Buffer {
  return createHmac('sha256', keys.enc).update(nonce).digest();
}

/** Whole datagram: nonce || hint || seal(plaintext). */
export function sealEnvelope(keys: EnvelopeKeys, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (nonce.length !== NONCE_LEN) throw new RangeError(`the nonce is ${NONCE_LEN} bytes, got ${nonce.length}`);
  const head = Buffer.concat([nonce, computeHint(keys, nonce)]);
  const c = createCipheriv(AEAD, packetKey(keys, nonce), ZERO_IV, { authTagLength: TAG_LEN });
  c.setAAD(head, { plaintextLength: plaintext.length });
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([head, body, c.getAuthTag()]));
}

/** The plaintext, or undefined when the tag does not verify. The caller has checked the length. */
export function openEnvelope(keys: EnvelopeKeys, packet: Uint8Array): Uint8Array | undefined {
  const head = packet.subarray(0, NONCE_LEN + HINT_LEN);
  const ct = packet.subarray(NONCE_LEN + HINT_LEN, packet.length - TAG_LEN);
  const d = createDecipheriv(AEAD, packetKey(keys, packet.subarray(0, NONCE_LEN)), ZERO_IV, { authTagLength: TAG_LEN });
  d.setAAD(head, { plaintextLength: ct.length });
  d.setAuthTag(packet.subarray(packet.length - TAG_LEN));
  const pt = d.update(ct);
  try {
    d.final();
  } catch {
    return undefined;
  }
  return new Uint8Array(pt);
}

/** Bytes an Ed25519 client signs. */
export function signedMessage(head: Uint8Array, body: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(SIG_CONTEXT, 'latin1'), head, body]);
}

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
  return sig.length === SIG_LEN && verify(null, msg, pub, sig);
}
