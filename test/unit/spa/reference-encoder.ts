/**
 * An SPA v1 encoder written from docs/spa-protocol.md alone, sharing no code with src/spa, so the
 * vectors check the document as much as the implementation.
 */
import * as crypto from 'node:crypto';

export interface VectorInput {
  readonly mode: 'aead' | 'ed25519';
  /** aead: the key; ed25519: the private seed. base64. */
  readonly secret: string;
  readonly nonce: string; // hex, 24 bytes
  readonly tsMs: number;
  readonly access: readonly string[]; // "22/tcp"
  readonly addr?: string; // dotted IPv4 or a full 8-group IPv6 (the reference keeps parsing simple)
  readonly timeoutSec?: number;
  readonly name?: string;
  readonly version?: number;
}

function body(v: VectorInput): Buffer {
  const out: number[] = [v.version ?? 1, 0];
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(v.tsMs));
  out.push(...ts, v.access.length);
  for (const a of v.access) {
    const [port, proto] = a.split('/');
    const p = Number(port);
    out.push(proto === 'udp' ? 17 : 6, p >> 8, p & 0xff);
  }
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
  if (v.name !== undefined) {
    flags |= 0x04;
    out.push(v.name.length, ...Buffer.from(v.name, 'ascii'));
  }
  out[1] = flags;
  const b = Buffer.alloc(Math.ceil(out.length / 32) * 32);
  Buffer.from(out).copy(b);
  return b;
}

export function referenceEncode(v: VectorInput): Buffer {
  const secret = Buffer.from(v.secret, 'base64');
  let M = secret;
  let priv: crypto.KeyObject | undefined;
  if (v.mode === 'ed25519') {
    priv = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: secret.toString('base64url'), x: '' }, format: 'jwk' });
    M = Buffer.from(crypto.createPublicKey(priv).export({ format: 'jwk' }).x as string, 'base64url');
  }
  const hkdf = (info: string) => Buffer.from(crypto.hkdfSync('sha256', M, Buffer.alloc(0), info, 32));
  const kHint = hkdf(`nftknock-spa v1 ${v.mode} hint`);
  const kEnc = hkdf(`nftknock-spa v1 ${v.mode} envelope`);
  const N = Buffer.from(v.nonce, 'hex');
  const hint = crypto.createHmac('sha256', kHint).update(N).digest().subarray(0, 8);
  const kPkt = crypto.createHmac('sha256', kEnc).update(N).digest();
  const B = body(v);
  let P = B;
  if (priv) P = Buffer.concat([B, crypto.sign(null, Buffer.concat([Buffer.from('nftknock-spa v1 ed25519 signature\0'), N, hint, B]), priv)]);
  const c = crypto.createCipheriv('chacha20-poly1305', kPkt, Buffer.alloc(12), { authTagLength: 16 });
  c.setAAD(Buffer.concat([N, hint]), { plaintextLength: P.length });
  const C = Buffer.concat([c.update(P), c.final()]);
  return Buffer.concat([N, hint, C, c.getAuthTag()]);
}

/** The Ed25519 public key of a seed, base64: what the server config holds. */
export function referencePublicKey(seedB64: string): string {
  const priv = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seedB64, 'base64').toString('base64url'), x: '' }, format: 'jwk' });
  return Buffer.from(crypto.createPublicKey(priv).export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
}
