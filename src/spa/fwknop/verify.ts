/**
 * The verifier of `spa.format: fwknop` doors: one fwknop datagram in, a Grant or a reason out, in the
 * same shape as verifySpa. Pure; never throws on packet bytes. Cheapest first: length, base64
 * alphabet, source, then one HMAC per stanza whose `from` holds the source (the HMAC is checked
 * before anything is decrypted), a known digest (a replay, refused before decryption), decryption,
 * inner digest, user, clock window, replay cache (keyed by the datagram's digest, like fwknopd's
 * digest cache), then access, address and timeout. docs/fwknop-format.md lists the reasons in order.
 */
import { createHash } from 'node:crypto';
import {
  type Cidr, type Grant, type IpAddr, type Outcome, type PortSpec, type Service, cidrContains, formatService, ok, parseAddr, prefixOf, reject, sameService,
} from '../../core';
import type { FwknopClient, SpaDoor } from '../../config';
import type { ReplayCache } from '../replay-cache';
import { NONCE_LEN } from '../wire';
import { HMAC_B64_LEN, decryptBody, hmacMatches, isRijndaelBody } from './crypto';
import { FKO_MSG, FWKNOP_MAX_PACKET_LEN, FWKNOP_MIN_PACKET_LEN, type FwknopRequest, SALTED_PREFIX, decodePlaintext } from './wire';

/** Every reason this verifier gives (the daemon counts and logs them by these strings). */
export const FWKNOP_REJECT_REASONS = [
  'too-short', 'too-long', 'not-base64', 'bad-prefix', 'bad-source', 'source-not-allowed', 'bad-hmac', 'gpg-refused', 'bad-decrypt',
  'bad-digest', 'malformed', 'command-refused', 'username-mismatch', 'stale', 'future', 'replay-window', 'replayed',
  'replay-cache-full', 'replay-state-lost', 'nat-refused', 'access-denied', 'address-required', 'address-not-allowed',
] as const;
export type FwknopRejectReason = (typeof FWKNOP_REJECT_REASONS)[number];

export interface FwknopVerifyContext {
  /** The datagram's source address, canonical text. */
  readonly src: string;
  readonly door: SpaDoor;
  /** Receive time, ms since the epoch (the capture timestamp). */
  readonly nowMs: number;
  readonly replay: ReplayCache;
}

export interface FwknopAccepted {
  readonly grant: Grant;
  /** The stanza's name in the config. */
  readonly client: string;
  readonly request: FwknopRequest;
  /** Replay-cache record: append it durably (StateStore.append) before applying the grant. */
  readonly append: Uint8Array;
}

export type FwknopVerdict =
  | { readonly ok: true; readonly value: FwknopAccepted }
  | { readonly ok: false; readonly reason: FwknopRejectReason; readonly detail?: string; readonly append?: Uint8Array };

/** 1 for the bytes of base64's alphabet (no '=': the client strips the padding). */
const B64_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') B64_BYTE[c.charCodeAt(0)] = 1;
const PREFIX = Buffer.from(SALTED_PREFIX, 'latin1');

function isBase64Text(p: Uint8Array): boolean {
  for (let i = 0; i < p.length; i++) if (B64_BYTE[p[i] as number] !== 1) return false;
  return true;
}

function startsWithPrefix(p: Uint8Array): boolean {
  return p.length >= PREFIX.length && PREFIX.equals(p.subarray(0, PREFIX.length));
}
const REPLAY_CONTEXT = 'nftknock fwknop digest\0';

/** The replay key: the datagram's SHA-256 (fwknopd's digest cache), cut to the cache's key size. */
export function fwknopReplayKey(datagram: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(REPLAY_CONTEXT).update(datagram, 'latin1').digest().subarray(0, NONCE_LEN));
}

function inAny(nets: readonly Cidr[], a: IpAddr): boolean {
  return nets.some((n) => n.family === a.family && cidrContains(n, a.bytes));
}

export function verifyFwknop(packet: Uint8Array, ctx: FwknopVerifyContext): FwknopVerdict {
  if (packet.length < FWKNOP_MIN_PACKET_LEN) return reject('too-short');
  if (packet.length > FWKNOP_MAX_PACKET_LEN) return reject('too-long');
  if (!isBase64Text(packet)) return reject('not-base64');
  // fwknopd drops these too: a prefix tacked onto a captured datagram would change its digest.
  if (startsWithPrefix(packet)) return reject('bad-prefix');
  const door = ctx.door;
  const src = parseAddr(ctx.src);
  if (!src) return reject('bad-source', ctx.src);
  if (door.from && !inAny(door.from, src)) return reject('source-not-allowed');
  const stanzas = (door.spa.fwknop ?? []).filter((c) => !c.from || inAny(c.from, src));
  if (stanzas.length === 0) return reject('source-not-allowed', 'no stanza accepts this source');
  const client = stanzas.find((c) => hmacMatches(c.hmacDigest, c.hmacKey, packet));
  if (!client) return reject('bad-hmac');
  // fwknopd goes on to the next stanza when one refuses: later stanzas with the same keys (another
  // SOURCE, other OPEN_PORTS) get their turn at the per-stanza checks below.
  const turns = stanzas.filter((c) => c === client || (sameBytes(c.key, client.key) && sameBytes(c.hmacKey, client.hmacKey) && c.hmacDigest === client.hmacDigest));
  const text = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength).toString('latin1');
  // A replay of an accepted datagram is known by its digest: refuse it before paying for decryption.
  const digest = fwknopReplayKey(text);
  const seen = ctx.replay.check(digest, Number.MAX_SAFE_INTEGER, ctx.nowMs);
  if (!seen.ok && seen.reason === 'replayed') return reject('replayed', client.name);
  const body = text.slice(0, -HMAC_B64_LEN[client.hmacDigest]);
  if (!isRijndaelBody(body)) return reject('gpg-refused', `${client.name}: a GnuPG-encrypted datagram (fwknop --gpg-*); only Rijndael keys are supported (fwknop --key-gen)`);
  const plain = decryptBody(body, client.key);
  if (plain === undefined) return reject('bad-decrypt', `${client.name}: the HMAC key is right, the Rijndael key is not`);
  const decoded = decodePlaintext(plain);
  if (!decoded.ok) return reject(decoded.reason, `${client.name}: ${decoded.detail ?? ''}`);
  const req = decoded.value;
  const windowMs = door.spa.windowSec * 1000;
  const tsMs = req.timestamp * 1000;
  if (ctx.replay.windowMs < windowMs) return reject('replay-window', `cache keeps ${ctx.replay.windowMs} ms, door needs ${windowMs} ms`);
  const fresh = ctx.replay.check(digest, tsMs, ctx.nowMs);
  if (!fresh.ok) return reject(fresh.reason, `${client.name}${fresh.detail ? `: ${fresh.detail}` : ''}`);
  // Authentic and above the replay horizon: whatever the answer, this datagram is spent, so one
  // refused now (from the future, say) cannot be replayed once its time comes.
  const append = ctx.replay.record(digest, tsMs);
  if (tsMs < ctx.nowMs - windowMs) return { ok: false, reason: 'stale', detail: `${client.name}: ${Math.round((ctx.nowMs - tsMs) / 1000)} s old`, append };
  if (tsMs > ctx.nowMs + windowMs) return { ok: false, reason: 'future', detail: `${client.name}: ${Math.round((tsMs - ctx.nowMs) / 1000)} s ahead`, append };
  let first: { ok: false; reason: FwknopRejectReason; detail?: string } | undefined;
  for (const c of turns) {
    const r = stanzaGrant(door, c, src, req);
    if (r.ok) return ok({ grant: r.value, client: c.name, request: req, append });
    first ??= r;
  }
  return { ...(first as { ok: false; reason: FwknopRejectReason; detail?: string }), append };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(b);
}

/** One stanza's decision on an authentic, fresh request: REQUIRE_USERNAME, services, address, timeout. */
function stanzaGrant(door: SpaDoor, c: FwknopClient, src: IpAddr, req: FwknopRequest): Outcome<Grant, FwknopRejectReason> {
  if (c.username !== undefined && req.username !== c.username) return reject('username-mismatch', `${c.name}: user ${JSON.stringify(req.username)}`);
  const services = req.natAccess !== undefined ? natService(door, c, req) : grantedServices(door, c, req.access);
  if (!services.ok) return services;
  const target = targetAddr(door, c, src, req.addr);
  if (!target.ok) return target;
  return ok({ door: door.name, family: target.value.family, addr: grantAddr(door, target.value), services: services.value, timeoutSec: timeoutOf(door, c, req) });
}

function allowedOf(door: SpaDoor, c: FwknopClient): Service[] {
  return (c.open ?? door.open).filter((s) => door.open.some((o) => sameService(o, s)));
}

/**
 * Each asked `proto/port` must be allowed: as this host's port, or as a port forward from that port
 * (the stanza's FORCE_NAT). As fwknopd: one service outside OPEN_PORTS refuses the whole request.
 */
function grantedServices(door: SpaDoor, c: FwknopClient, asked: readonly PortSpec[]): Outcome<readonly Service[], 'access-denied'> {
  const allowed = allowedOf(door, c);
  const out: Service[] = [];
  for (const p of asked) {
    const s = allowed.find((a) => a.kind === 'local' && a.port === p.port && a.proto === p.proto)
      ?? allowed.find((a) => a.kind === 'dnat' && a.port === p.port && a.proto === p.proto);
    if (!s) return reject('access-denied', `${c.name} asked for ${p.proto}/${p.port}`);
    out.push(s);
  }
  return ok(out);
}

/**
 * A NAT access request (`fwknop -A tcp/P -N HOST:Q`, FKO message types 2 and 4) is the port forward
 * `P/tcp=>HOST:Q`, granted when the stanza may open exactly that. Local NAT (`--nat-local`: a DNAT to
 * this host itself) is refused.
 */
function natService(door: SpaDoor, c: FwknopClient, req: FwknopRequest): Outcome<readonly Service[], 'nat-refused' | 'access-denied'> {
  if (req.type === FKO_MSG.localNatAccess || req.type === FKO_MSG.timeoutLocalNatAccess) return reject('nat-refused', `${c.name}: local NAT (fwknop --nat-local) is not served`);
  const m = /^([^,]+),([0-9]{1,5})$/.exec(req.natAccess ?? '');
  const to = m ? parseAddr(m[1] as string) : undefined;
  const toPort = Number(m?.[2] ?? 0);
  const p = req.access[0];
  if (!to || toPort < 1 || toPort > 65535 || !p || req.access.length !== 1) return reject('nat-refused', `${c.name}: NAT access "${req.natAccess ?? ''}" is not ADDR,PORT with one service`);
  const want: Service = { kind: 'dnat', proto: p.proto, port: p.port, family: to.family, toAddr: to.text, toPort };
  if (!allowedOf(door, c).some((a) => sameService(a, want))) return reject('access-denied', `${c.name} asked for ${formatService(want)}`);
  return ok([want]);
}

function targetAddr(door: SpaDoor, c: FwknopClient, src: IpAddr, asked: IpAddr | undefined): Outcome<IpAddr, 'address-required' | 'address-not-allowed'> {
  if (!asked) return c.requireAddress ? reject('address-required', `${c.name}: sent with -s, the stanza requires an address (-a or -R)`) : ok(src);
  if (asked.text === src.text) return ok(src);
  if (!(c.allowAddress ?? door.spa.allowAddress)) return reject('address-not-allowed', `${c.name} asked for ${asked.text} from ${src.text}; the stanza has no allow_address`);
  return ok(asked);
}

function grantAddr(door: SpaDoor, a: IpAddr): string {
  const len = a.family === 4 ? door.spa.natPrefix4 : door.spa.natPrefix6;
  return len === undefined || len === (a.family === 4 ? 32 : 128) ? a.text : prefixOf(a, len);
}

/** `-f` capped by MAX_FW_TIMEOUT; without a cap (stanza or door) `-f` is ignored, as in nftknock's format. */
function timeoutOf(door: SpaDoor, c: FwknopClient, req: FwknopRequest): number {
  const base = c.timeoutSec ?? door.timeoutSec;
  const max = c.maxTimeoutSec ?? door.spa.maxTimeoutSec;
  return req.timeoutSec === undefined || max === undefined ? base : Math.min(req.timeoutSec, max);
}
