/**
 * Weak SPA keys, refused at config load (docs/security.md, "Keys"). Pure; no crypto library needed.
 *
 * aead keys are 32 random bytes from `knockctl keygen`; anything with visible structure was not made
 * that way: all one byte, a short repeating pattern, a counting sequence, few distinct bytes, or
 * only printable characters (a password, not a key). Each of these has a chance below 1e-12 for
 * random bytes, so no real key is refused.
 *
 * Ed25519 public keys: the encoding must be canonical (y < p; no "negative zero" x) and a point on
 * the curve, and not one of the 8 points of small order, whose signatures anyone can forge for
 * some messages.
 */

/** Why an aead key is weak, or undefined. */
export function weakAeadKey(k: Uint8Array): string | undefined {
  if (k.every((b) => b === 0)) return 'is all zero bytes';
  for (let p = 1; p <= 16; p++) {
    if (k.every((b, i) => i < p || b === k[i - p])) return p === 1 ? 'is one byte repeated' : `repeats a ${p}-byte pattern`;
  }
  const d = ((k[1] as number) - (k[0] as number)) & 0xff;
  if (k.every((b, i) => i === 0 || ((b - (k[i - 1] as number)) & 0xff) === d)) return 'is a counting sequence';
  if (new Set(k).size < 16) return `has only ${new Set(k).size} distinct byte values (random keys have about 30)`;
  if (k.every((b) => b >= 0x20 && b < 0x7f)) return 'is printable text (a password), not random bytes';
  return undefined;
}

const P = (1n << 255n) - 19n;
const D = mod(-121665n * inv(121666n));

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = mod(b);
  for (let n = e; n > 0n; n >>= 1n) {
    if (n & 1n) r = (r * x) % P;
    x = (x * x) % P;
  }
  return r;
}

function inv(a: bigint): bigint {
  return pow(a, P - 2n);
}

/** Little-endian y with the sign bit cleared, and the sign bit. */
function decode(k: Uint8Array): { y: bigint; sign: number } {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? (k[i] as number) & 0x7f : (k[i] as number));
  return { y, sign: (k[31] as number) >> 7 };
}

/** The y coordinates of the 8 small-order points (x = 0 points: y = 1, y = -1; y = 0; and the 4 of order 8). */
const SMALL_ORDER_Y = [
  0n, 1n, P - 1n,
  decode(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex')).y,
  decode(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex')).y,
];

/** True when the point with this y exists (x^2 = (y^2 - 1) / (d y^2 + 1) is a square mod p). */
export function onCurve(y: bigint): { ok: boolean; xIsZero: boolean } {
  const y2 = (y * y) % P;
  const x2 = mod((y2 - 1n) * inv(mod(D * y2 + 1n)));
  if (x2 === 0n) return { ok: true, xIsZero: true };
  return { ok: pow(x2, (P - 1n) / 2n) === 1n, xIsZero: false };
}

/** Why an Ed25519 public key is unusable, or undefined. */
export function weakEd25519Key(k: Uint8Array): string | undefined {
  const { y, sign } = decode(k);
  if (y >= P) return 'is not a canonical encoding (y >= 2^255 - 19)';
  if (SMALL_ORDER_Y.includes(y)) return 'is a point of small order (such keys let anyone forge signatures)';
  const c = onCurve(y);
  if (!c.ok) return 'is not a point on the Ed25519 curve';
  if (c.xIsZero && sign === 1) return 'is not a canonical encoding (negative zero)';
  return undefined;
}
