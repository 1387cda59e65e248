/**
 * The SPA v2 verifier: one datagram in, a Grant or a reason out. Pure; never throws on packet bytes.
 * Checks go cheapest first: length, source, mac1 (one HMAC, whatever the number of clients), the
 * per-source budget, X25519 + envelope, client lookup by id (one map lookup), the client's
 * authenticator (HMAC or Ed25519), body, replay state, clock window, access, address.
 * No response is ever sent for any outcome.
 */
import { timingSafeEqual } from 'node:crypto';
import { type Grant, type IpAddr, type Outcome, type Service, cidrContains, ok, parseAddr, prefixOf, reject } from '../core';
import type { SpaDoor } from '../config';
import { aeadAuth, ed25519Verify, envelopeKey, mac1Matches, open, transcript, x25519 } from './envelope';
import { type KeyringEntry, type SpaKeyring, idKey } from './keyring';
import type { ReplayCache } from './replay-cache';
import { type CostLimiter, sourceKey } from './cost-limit';
import {
  AEAD_AUTH_LEN, ENVELOPE_OVERHEAD, EPH_LEN, ID_LEN, MAC1_LEN, MAX_PACKET_LEN, MIN_PACKET_LEN, NONCE_LEN, PAD, SIG_LEN, SPA_VERSION,
  type SpaRequest, decodeBody,
} from './wire';

/** Every reason the verifier gives; the daemon counts and logs them by these exact strings. */
export const SPA_REJECT_REASONS = [
  'too-short', 'too-long', 'bad-length', 'bad-source', 'source-not-allowed', 'bad-mac', 'rate-limited', 'bad-auth', 'unknown-client',
  'bad-signature', 'bad-version', 'malformed', 'stale', 'future', 'replay-window', 'replayed', 'replay-cache-full', 'replay-state-lost',
  'access-denied', 'address-required', 'address-mismatch', 'address-not-allowed',
] as const;
export type SpaRejectReason = (typeof SPA_REJECT_REASONS)[number];

export interface SpaVerifyContext {
  /** The datagram's source address, canonical text. */
  readonly src: string;
  readonly door: SpaDoor;
  /** Receive time, ms since the epoch (the capture timestamp). */
  readonly nowMs: number;
  readonly replay: ReplayCache;
  /** The door's keyring for this server's identity (keyringFor). */
  readonly keyring: SpaKeyring;
  /** Budget of expensive checks per source; unlimited when absent (tests, the in-process bench). */
  readonly limiter?: CostLimiter;
}

export interface SpaAccepted {
  readonly grant: Grant;
  /** Client name from the config. */
  readonly client: string;
  readonly request: SpaRequest;
  /** Replay-cache record: append it durably (StateStore.append) before applying the grant. */
  readonly append: Uint8Array;
}

/**
 * The verifier's answer. A rejection of an authentic datagram past the replay check (stale or
 * future for this door, access, address) still spends its nonce: `append` is then the replay
 * record to persist, so the datagram cannot be accepted later (once its time comes, or after a
 * reload widened the door).
 */
export type SpaVerdict =
  | { readonly ok: true; readonly value: SpaAccepted }
  | { readonly ok: false; readonly reason: SpaRejectReason; readonly detail?: string; readonly append?: Uint8Array };

export function verifySpa(packet: Uint8Array, ctx: SpaVerifyContext): SpaVerdict {
  const len = packet.length;
  if (len < MIN_PACKET_LEN) return reject('too-short');
  if (len > MAX_PACKET_LEN) return reject('too-long');
  if ((len - ENVELOPE_OVERHEAD) % PAD !== 0) return reject('bad-length');
  const { door, keyring } = ctx;
  let src: IpAddr | undefined;
  if (door.from) {
    src = parseAddr(ctx.src);
    if (!src) return reject('bad-source', ctx.src);
    const s = src;
    if (!door.from.some((n) => n.family === s.family && cidrContains(n, s.bytes))) return reject('source-not-allowed');
  }
  if (!mac1Matches(keyring.mac1, packet)) return reject('bad-mac');
  // Past mac1 the sender knows the server identity (public): the next steps cost, so they are budgeted.
  // An IPv4 source is its own key (no parse on this path); IPv6 is limited per /64.
  if (ctx.limiter && !ctx.src.includes(':') && !ctx.limiter.take(ctx.src, ctx.nowMs)) return reject('rate-limited');
  src ??= parseAddr(ctx.src);
  if (!src) return reject('bad-source', ctx.src);
  if (ctx.limiter && src.family === 6 && !ctx.limiter.take(sourceKey(6, src.bytes, src.text), ctx.nowMs)) return reject('rate-limited');
  const eph = packet.subarray(0, EPH_LEN);
  const shared = x25519(keyring.serverKey, eph);
  if (!shared || shared.every((b) => b === 0)) return reject('bad-auth', 'low-order ephemeral key');
  const plain = open(envelopeKey(shared, eph, keyring.identity.pub, door.name), eph, packet.subarray(EPH_LEN, len - MAC1_LEN));
  if (!plain) return reject('bad-auth', 'envelope');
  const id = plain.subarray(0, ID_LEN);
  const entry = keyring.byId.get(idKey(id));
  if (!entry) return reject('unknown-client');
  const body = authenticBody(entry, keyring, door.name, eph, plain);
  if (!body) return reject(entry.publicKey ? 'bad-signature' : 'bad-auth', entry.client.name);
  if (body[0] !== SPA_VERSION) return reject('bad-version', `${entry.client.name}: version ${body[0]}`);
  const decoded = decodeBody(body);
  if (!decoded.ok) return reject('malformed', `${entry.client.name}: ${decoded.detail ?? ''}`);
  return decide(ctx, entry, src, eph.subarray(0, NONCE_LEN), decoded.value);
}

/** The body, once the client's authenticator over the transcript verifies. */
function authenticBody(entry: KeyringEntry, kr: SpaKeyring, door: string, eph: Uint8Array, plain: Uint8Array): Uint8Array | undefined {
  const alen = entry.publicKey ? SIG_LEN : AEAD_AUTH_LEN;
  if (plain.length < ID_LEN + alen + 1) return undefined;
  const body = plain.subarray(ID_LEN, plain.length - alen);
  const auth = plain.subarray(plain.length - alen);
  const tr = transcript(kr.identity.pub, door, eph, plain.subarray(0, ID_LEN), body);
  if (entry.publicKey) return ed25519Verify(entry.publicKey, tr, auth) ? body : undefined;
  return entry.auth && timingSafeEqual(aeadAuth(entry.auth, tr), auth) ? body : undefined;
}

/** An authentic request: replay state, clock, then what it asks for. */
function decide(ctx: SpaVerifyContext, entry: KeyringEntry, src: IpAddr, nonce: Uint8Array, req: SpaRequest): SpaVerdict {
  const { door } = ctx;
  const name = entry.client.name;
  const windowMs = door.spa.windowSec * 1000;
  // A cache keeping nonces for less than this door's window would let late replays through.
  if (ctx.replay.windowMs < windowMs) return reject('replay-window', `cache keeps ${ctx.replay.windowMs} ms, door needs ${windowMs} ms`);
  const fresh = ctx.replay.check(nonce, req.tsMs, ctx.nowMs);
  if (!fresh.ok) return reject(fresh.reason, `${name}${fresh.detail ? `: ${fresh.detail}` : ''}`);
  // Authentic and above the replay horizon: whatever the answer, this nonce is spent, so a datagram
  // refused now (from the future, say) cannot be replayed once its time comes.
  const append = ctx.replay.record(nonce, req.tsMs);
  if (req.tsMs < ctx.nowMs - windowMs) return { ok: false, reason: 'stale', detail: `${name}: ${ctx.nowMs - req.tsMs} ms old`, append };
  if (req.tsMs > ctx.nowMs + windowMs) return { ok: false, reason: 'future', detail: `${name}: ${req.tsMs - ctx.nowMs} ms ahead`, append };
  const services = grantedServices(entry, req.access);
  if (!services.ok) return { ...services, append };
  const target = targetAddr(door, src, req.addr);
  if (!target.ok) return { ...target, append };
  const grant: Grant = { door: door.name, family: target.value.family, addr: grantAddr(door, target.value), services: services.value, timeoutSec: timeoutOf(door, req) };
  return ok({ grant, client: name, request: req, append });
}

/**
 * No request: everything this client's entry allows (forwarded services and port forwards included).
 * A request names `open` entries by their canonical text (core/service.ts), so local services,
 * forwarded services and port forwards all work with no wire change.
 */
function grantedServices(entry: KeyringEntry, asked: readonly string[]): Outcome<readonly Service[], 'access-denied'> {
  if (asked.length === 0) return entry.allowed.length > 0 ? ok(entry.allowed) : reject('access-denied', `${entry.client.name}: nothing to open`);
  const out: Service[] = [];
  for (const s of asked) {
    const p = entry.allowedText.get(s);
    if (!p) return reject('access-denied', `${entry.client.name} asked for ${s}`);
    out.push(p);
  }
  return ok(out);
}

type AddrReason = 'address-required' | 'address-mismatch' | 'address-not-allowed';

function targetAddr(door: SpaDoor, src: IpAddr, asked: IpAddr | undefined): Outcome<IpAddr, AddrReason> {
  if (door.spa.requireAddress) {
    if (!asked) return reject('address-required', 'the door requires the sender\'s address in the datagram');
    if (asked.text !== src.text) return reject('address-mismatch', `datagram names ${asked.text}, sent from ${src.text}`);
    return ok(src);
  }
  if (!asked || asked.text === src.text) return ok(src);
  if (!door.spa.allowAddress) return reject('address-not-allowed', `asked for ${asked.text}, door has no allow_address`);
  if (asked.bytes.every((b) => b === 0)) return reject('address-not-allowed', 'unspecified address');
  if (door.from && !door.from.some((n) => n.family === asked.family && cidrContains(n, asked.bytes))) {
    return reject('address-not-allowed', `${asked.text} is outside the door's from`);
  }
  return ok(asked);
}

function grantAddr(door: SpaDoor, a: IpAddr): string {
  const len = a.family === 4 ? door.spa.natPrefix4 : door.spa.natPrefix6;
  return len === undefined || len === (a.family === 4 ? 32 : 128) ? a.text : prefixOf(a, len);
}

function timeoutOf(door: SpaDoor, req: SpaRequest): number {
  const max = door.spa.maxTimeoutSec;
  return req.timeoutSec === undefined || max === undefined ? door.timeoutSec : Math.min(req.timeoutSec, max);
}

