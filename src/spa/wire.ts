/**
 * SPA request body: the plaintext inside the envelope (docs/spa-protocol.md, "Body").
 * Pure encode/decode; decode never throws on hostile bytes.
 */
import { type IpAddr, type Outcome, type PortSpec, formatIPv4, formatIPv6, ok, parseAddr, reject } from '../core';

export const SPA_VERSION = 1;
/** Envelope sizes in bytes: nonce, hint, Poly1305 tag. */
export const NONCE_LEN = 24;
export const HINT_LEN = 8;
export const TAG_LEN = 16;
export const ENVELOPE_OVERHEAD = NONCE_LEN + HINT_LEN + TAG_LEN;
/** Smallest body: version, flags, timestamp, access count. */
export const MIN_BODY_LEN = 11;
export const MIN_PACKET_LEN = ENVELOPE_OVERHEAD + MIN_BODY_LEN;
/** Largest datagram accepted: fits any path MTU without fragmentation. */
export const MAX_PACKET_LEN = 512;
export const SIG_LEN = 64;
/** Clients pad the body with zeros to a multiple of this, so lengths say little. */
export const BODY_PAD = 32;
export const MAX_ACCESS = 16;
export const MAX_NAME_LEN = 32;

const FLAG_ADDR = 0x01;
const FLAG_TIMEOUT = 0x02;
const FLAG_NAME = 0x04;
const PROTO_NUM = { tcp: 6, udp: 17 } as const;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,31}$/;

/** What a client asks for. */
export interface SpaRequest {
  readonly version: number;
  /** Client clock, milliseconds since the epoch. */
  readonly tsMs: number;
  /** Services to open; empty = everything this client may open. */
  readonly access: readonly PortSpec[];
  /** Address to open instead of the packet's source. */
  readonly addr?: IpAddr;
  readonly timeoutSec?: number;
  readonly name?: string;
}

export type BodyRejectReason = 'malformed';

/** Bytes of a body, padded with zeros to a multiple of BODY_PAD. Throws on a request no server would accept. */
export function encodeBody(req: SpaRequest): Uint8Array {
  if (!Number.isSafeInteger(req.tsMs) || req.tsMs < 0) throw new RangeError(`timestamp ${req.tsMs} is not a whole number of milliseconds >= 0`);
  if (req.access.length > MAX_ACCESS) throw new RangeError(`at most ${MAX_ACCESS} services per request, got ${req.access.length}`);
  if (req.timeoutSec !== undefined && (!Number.isInteger(req.timeoutSec) || req.timeoutSec < 1 || req.timeoutSec > 0xffffffff)) {
    throw new RangeError(`timeout ${req.timeoutSec} is not 1-4294967295 seconds`);
  }
  if (req.name !== undefined && !NAME_RE.test(req.name)) throw new RangeError(`client name "${req.name}" is not letters, digits, '_', '.', '@', '-' (at most 32)`);
  const parts: number[] = [req.version & 0xff, 0];
  let flags = 0;
  const ts = new DataView(new ArrayBuffer(8));
  ts.setBigUint64(0, BigInt(req.tsMs));
  parts.push(...new Uint8Array(ts.buffer), req.access.length);
  for (const p of req.access) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new RangeError(`port ${p.port} is not 1-65535`);
    parts.push(PROTO_NUM[p.proto], p.port >> 8, p.port & 0xff);
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
  if (req.name !== undefined) {
    flags |= FLAG_NAME;
    parts.push(req.name.length, ...Array.from(req.name, (c) => c.charCodeAt(0)));
  }
  parts[1] = flags;
  const padded = new Uint8Array(Math.ceil(parts.length / BODY_PAD) * BODY_PAD);
  padded.set(parts);
  return padded;
}

/** Parse a body (signature already removed). Trailing bytes must be zero padding. */
export function decodeBody(b: Uint8Array): Outcome<SpaRequest, BodyRejectReason> {
  if (b.length < MIN_BODY_LEN) return reject('malformed', 'body too short');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = b[0] as number;
  const flags = b[1] as number;
  if (flags & ~(FLAG_ADDR | FLAG_TIMEOUT | FLAG_NAME)) return reject('malformed', 'reserved flag bits set');
  const ts = dv.getBigUint64(2);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return reject('malformed', 'timestamp out of range');
  const count = b[10] as number;
  if (count > MAX_ACCESS) return reject('malformed', 'too many services');
  let off = 11;
  if (off + 3 * count > b.length) return reject('malformed', 'truncated service list');
  const access: PortSpec[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++, off += 3) {
    const pn = b[off] as number;
    const port = dv.getUint16(off + 1);
    const proto = pn === 6 ? 'tcp' : pn === 17 ? 'udp' : undefined;
    if (!proto || port === 0) return reject('malformed', 'bad service entry');
    if (seen.has(pn * 65536 + port)) return reject('malformed', 'service listed twice');
    seen.add(pn * 65536 + port);
    access.push({ proto, port });
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
  let name: string | undefined;
  if (flags & FLAG_NAME) {
    const n = b[off] ?? 0;
    if (n === 0 || n > MAX_NAME_LEN || off + 1 + n > b.length) return reject('malformed', 'bad name');
    name = String.fromCharCode(...b.subarray(off + 1, off + 1 + n));
    if (!NAME_RE.test(name)) return reject('malformed', 'bad name');
    off += 1 + n;
  }
  for (; off < b.length; off++) if (b[off] !== 0) return reject('malformed', 'non-zero padding');
  return ok({
    version, tsMs: Number(ts), access,
    ...(addr ? { addr } : {}), ...(timeoutSec !== undefined ? { timeoutSec } : {}), ...(name !== undefined ? { name } : {}),
  });
}

/** An address for a request, from text; undefined when not an IP address. */
export function requestAddr(text: string): IpAddr | undefined {
  return parseAddr(text);
}
