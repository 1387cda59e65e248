/**
 * An SPA v2 encoder written from docs/spa-protocol.md alone, sharing no code with src/spa, so the
 * vectors check the document as much as the implementation. Keys go through JWK, not the DER
 * prefixes src/ uses.
 */
import * as crypto from 'node:crypto';

export interface VectorInput {
  readonly mode: 'aead' | 'ed25519';
  /** aead: the key; ed25519: the private seed. base64. */
  readonly secret: string;
  /** The server identity: its X25519 public key, base64. */
  readonly server: string;
  readonly door: string;
  /** r: the client's 32 random bytes for the ephemeral key, hex. */
  readonly ephemeral: string;
  readonly tsMs: number;
  readonly access: readonly string[]; // canonical texts, "22/tcp"
  readonly addr?: string; // dotted IPv4 or a full 8-group IPv6 (the reference keeps parsing simple)
  readonly timeoutSec?: number;
  readonly version?: number;
}

const b64u = (b: Buffer): string => b.toString('base64url');

function x25519Priv(r: Buffer): crypto.KeyObject {
  // JWK wants the public part too; derive it by importing without and exporting.
  const k = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(r), x: '' }, format: 'jwk' });
  return k;
}

export function x25519Public(r: Buffer): Buffer {
  return Buffer.from(crypto.createPublicKey(x25519Priv(r)).export({ format: 'jwk' }).x as string, 'base64url');
}

function edPriv(seed: Buffer): crypto.KeyObject {
  return crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64u(seed), x: '' }, format: 'jwk' });
}

/** The Ed25519 public key of a seed, base64: what the server config holds. */
export function referencePublicKey(seedB64: string): string {
  return Buffer.from(crypto.createPublicKey(edPriv(Buffer.from(seedB64, 'base64'))).export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, len: number): Buffer => Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info, len));

function body(v: VectorInput): Buffer {
  const out: number[] = [v.version ?? 2, 0];
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(v.tsMs));
  out.push(...ts, v.access.length);
  for (const a of v.access) out.push(a.length, ...Buffer.from(a, 'ascii'));
  let flags = 0;
  if (v.addr !== undefined) {
    flags |= 0x01;
    if (v.addr.includes(':')) out.push(6, ...v.addr.split(':').flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
    else out.push(4, ...v.addr.split('.').map(Number));
  }
  if (v.timeoutSec !== undefined) {
    flags |= 0x02;
    const t = Buffer.alloc(4);
    t.writeUInt32BE(v.timeoutSec);
    out.push(...t);
  }
  out[1] = flags;
  // "zero padding so that 16 + len(B) is a multiple of 32"
  const b = Buffer.alloc(Math.ceil((16 + out.length) / 32) * 32 - 16);
  Buffer.from(out).copy(b);
  return b;
}

export function referenceEncode(v: VectorInput): Buffer {
  const S = Buffer.from(v.server, 'base64');
  const D = Buffer.concat([Buffer.from([v.door.length]), Buffer.from(v.door, 'ascii')]);
  const secret = Buffer.from(v.secret, 'base64');
  const r = Buffer.from(v.ephemeral, 'hex');
  const E = x25519Public(r);
  E[31] = (E[31] as number) | ((r[31] as number) & 0x80);
  const serverKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(S) }, format: 'jwk' });
  const ss = crypto.diffieHellman({ privateKey: x25519Priv(r), publicKey: serverKey });
  const K = hkdf(ss, Buffer.concat([E, S]), Buffer.concat([Buffer.from('nftknock-spa v2 envelope'), D]), 32);
  const M = v.mode === 'aead' ? secret : Buffer.from(referencePublicKey(v.secret), 'base64');
  const I = hkdf(M, Buffer.alloc(0), Buffer.from(`nftknock-spa v2 ${v.mode} id`), 16);
  const B = body(v);
  const TR = Buffer.concat([Buffer.from('nftknock-spa v2 auth\0'), S, D, E, I, B]);
  const A = v.mode === 'aead'
    ? crypto.createHmac('sha256', hkdf(secret, Buffer.alloc(0), Buffer.from('nftknock-spa v2 aead auth'), 32)).update(TR).digest()
    : crypto.sign(null, TR, edPriv(secret));
  const c = crypto.createCipheriv('chacha20-poly1305', K, Buffer.alloc(12), { authTagLength: 16 });
  c.setAAD(E, { plaintextLength: 16 + B.length + A.length });
  const C = Buffer.concat([c.update(Buffer.concat([I, B, A])), c.final(), c.getAuthTag()]);
  const head = Buffer.concat([E, C]);
  const kMac1 = hkdf(S, Buffer.alloc(0), Buffer.concat([Buffer.from('nftknock-spa v2 mac1'), D]), 32);
  return Buffer.concat([head, crypto.createHash('sha256').update(Buffer.concat([kMac1, head])).digest().subarray(0, 16)]);
}
