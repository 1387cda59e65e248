/**
 * SPA v2 request body: the plaintext inside the envelope (docs/spa-protocol.md, "Body").
 * Pure encode/decode; decode never throws on hostile bytes.
 *
 *   0   1  version (2)
 *   1   1  flags: 0x01 address present, 0x02 timeout present
 *   2   8  timestamp, ms since the epoch (uint64 BE, at most 2^53 - 1)
 *   10  1  k, number of services asked for (0 = everything this client may open)
 *   11  .. k times: length L (1..63), then L bytes of the service's canonical text ("22/tcp")
 *   ..     address (family byte 4|6, then 4|16 bytes), timeout (uint32 BE seconds), each if flagged
 *   ..     zero padding
 */
import { type IpAddr, type Outcome, formatIPv4, formatIPv6, ok, reject } from '../core';

export const SPA_VERSION = 2;
/** Datagram layout: E (ephemeral X25519 key), ciphertext, Poly1305 tag, mac1. */
export const EPH_LEN = 32;
export const TAG_LEN = 16;
export const MAC1_LEN = 16;
/** Inside the ciphertext: the 16-byte client id first. */
export const ID_LEN = 16;
/** Client authenticator after the body: HMAC-SHA256 (aead) or an Ed25519 signature. */
export const AEAD_AUTH_LEN = 32;
export const SIG_LEN = 64;
/** Everything that is not plaintext. */
export const ENVELOPE_OVERHEAD = EPH_LEN + TAG_LEN + MAC1_LEN;
/** The plaintext (id, body, authenticator) is always a multiple of this: lengths say little. */
export const PAD = 32;
/** Smallest body: version, flags, timestamp, service count. */
export const MIN_BODY_LEN = 11;
/** Smallest datagram: an aead request with the shortest body (id 16 + body 16 + HMAC 32). */
export const MIN_PACKET_LEN = ENVELOPE_OVERHEAD + 64;
/** Largest datagram accepted: below the IPv6 minimum MTU (1280) minus IPv6 and UDP headers. */
export const MAX_PACKET_LEN = 1024;
export const MAX_ACCESS = 16;
export const MAX_SERVICE_TEXT = 63;
/** Bytes of E that key the replay cache (the rest of E is authenticated too, see verify.ts). */
export const NONCE_LEN = 24;

const FLAG_ADDR = 0x01;
const FLAG_TIMEOUT = 0x02;

/** What a client asks for. */
export interface SpaRequest {
  readonly version: number;
  /** Client clock, milliseconds since the epoch. */
  readonly tsMs: number;
  /** Canonical texts of the door's `open` entries asked for; empty = everything this client may open. */
  readonly access: readonly string[];
  /** Address to open (instead of the packet's source, or equal to it for `require_address`). */
  readonly addr?: IpAddr;
  readonly timeoutSec?: number;
}

export type BodyRejectReason = 'malformed';

const printable = (s: string): boolean => /^[\x21-\x7e]+$/.test(s);

/** Bytes of a body, padded with zeros so that ID_LEN + body is a multiple of PAD. Throws on a request no server would accept. */
export function encodeBody(req: SpaRequest): Uint8Array {
  if (!Number.isSafeInteger(req.tsMs) || req.tsMs < 0) throw new RangeError(`timestamp ${req.tsMs} is not a whole number of milliseconds >= 0`);
  if (req.access.length > MAX_ACCESS) throw new RangeError(`at most ${MAX_ACCESS} services per request, got ${req.access.length}`);
  if (new Set(req.access).size !== req.access.length) throw new RangeError('a service is listed twice');
  if (req.timeoutSec !== undefined && (!Number.isInteger(req.timeoutSec) || req.timeoutSec < 1 || req.timeoutSec > 0xffffffff)) {
    throw new RangeError(`timeout ${req.timeoutSec} is not 1-4294967295 seconds`);
  }
  const parts: number[] = [req.version & 0xff, 0];
  let flags = 0;
  const ts = new DataView(new ArrayBuffer(8));
  ts.setBigUint64(0, BigInt(req.tsMs));
  parts.push(...new Uint8Array(ts.buffer), req.access.length);
  for (const s of req.access) {
    if (s.length < 1 || s.length > MAX_SERVICE_TEXT || !printable(s)) throw new RangeError(`service "${s}" is not 1-${MAX_SERVICE_TEXT} printable ASCII characters`);
    parts.push(s.length, ...Array.from(s, (c) => c.charCodeAt(0)));
  }
  if (req.addr) {
    flags |= FLAG_ADDR;
    parts.push(req.addr.family, ...req.addr.bytes);
  }
  if (req.timeoutSec !== undefined) {
    flags |= FLAG_TIMEOUT;
    const t = req.timeoutSec;
    parts.push((t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff);
  }
  parts[1] = flags;
  const padded = new Uint8Array(Math.ceil((ID_LEN + parts.length) / PAD) * PAD - ID_LEN);
  padded.set(parts);
  return padded;
}

/** Parse a body (id and authenticator already removed). Trailing bytes must be zero padding. */
export function decodeBody(b: Uint8Array): Outcome<SpaRequest, BodyRejectReason> {
  if (b.length < MIN_BODY_LEN) return reject('malformed', 'body too short');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = b[0] as number;
  const flags = b[1] as number;
  if (flags & ~(FLAG_ADDR | FLAG_TIMEOUT)) return reject('malformed', 'reserved flag bits set');
  const ts = dv.getBigUint64(2);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return reject('malformed', 'timestamp out of range');
  const count = b[10] as number;
  if (count > MAX_ACCESS) return reject('malformed', 'too many services');
  let off = 11;
  const access: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = b[off] ?? 0;
    if (n === 0 || n > MAX_SERVICE_TEXT || off + 1 + n > b.length) return reject('malformed', 'bad service entry');
    const s = String.fromCharCode(...b.subarray(off + 1, off + 1 + n));
    if (!printable(s)) return reject('malformed', 'bad service entry');
    if (access.includes(s)) return reject('malformed', 'service listed twice');
    access.push(s);
    off += 1 + n;
  }
  let addr: IpAddr | undefined;
  if (flags & FLAG_ADDR) {
    const fam = b[off];
    const n = fam === 4 ? 4 : fam === 6 ? 16 : 0;
    if (n === 0 || off + 1 + n > b.length) return reject('malformed', 'bad address');
    const bytes = b.slice(off + 1, off + 1 + n);
    addr = { family: fam as 4 | 6, bytes, text: n === 4 ? formatIPv4(bytes) : formatIPv6(bytes) };
    off += 1 + n;
  }
  let timeoutSec: number | undefined;
  if (flags & FLAG_TIMEOUT) {
    if (off + 4 > b.length) return reject('malformed', 'truncated timeout');
    timeoutSec = dv.getUint32(off);
    if (timeoutSec === 0) return reject('malformed', 'zero timeout');
    off += 4;
  }
  for (; off < b.length; off++) if (b[off] !== 0) return reject('malformed', 'non-zero padding');
  return ok({ version, tsMs: Number(ts), access, ...(addr ? { addr } : {}), ...(timeoutSec !== undefined ? { timeoutSec } : {}) });
}
