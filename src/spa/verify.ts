/**
 * The SPA verifier: one datagram in, a Grant or a reason out. Pure; never throws on packet bytes.
 * Checks go cheapest first: length, source, hint (one HMAC per client), AEAD, signature, version,
 * body, clock window, replay cache, access, address. No response is ever sent for any outcome.
 */
import {
  type Grant, type IpAddr, type Outcome, type PortSpec, type Service, cidrContains, formatService, localService, ok, parseAddr, prefixOf, reject, sameService,
} from '../core';
import type { SpaDoor } from '../config';
import { hintMatches, openEnvelope, signedMessage, ed25519Verify } from './envelope';
import { type KeyringEntry, type SpaKeyring, keyringFor } from './keyring';
import type { ReplayCache } from './replay-cache';
import { HINT_LEN, MAX_PACKET_LEN, MIN_PACKET_LEN, NONCE_LEN, SIG_LEN, SPA_VERSION, type SpaRequest, decodeBody } from './wire';

/** Every reason the verifier gives; the daemon counts and logs them by these exact strings. */
export const SPA_REJECT_REASONS = [
  'too-short', 'too-long', 'bad-source', 'source-not-allowed', 'unknown-client', 'bad-auth', 'bad-signature',
  'bad-version', 'malformed', 'name-mismatch', 'stale', 'future', 'replay-window', 'replayed', 'replay-cache-full',
  'replay-state-lost', 'access-denied', 'address-not-allowed',
] as const;
export type SpaRejectReason = (typeof SPA_REJECT_REASONS)[number];

export interface SpaVerifyContext {
  /** The datagram's source address, canonical text. */
  readonly src: string;
  readonly door: SpaDoor;
  /** Receive time, ms since the epoch (the capture timestamp). */
  readonly nowMs: number;
  readonly replay: ReplayCache;
  /** Prebuilt keyring of `door`; built and memoized per door object when absent. */
  readonly keyring?: SpaKeyring;
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
 * The verifier's answer. A rejection of an authentic, fresh packet (`access-denied`,
 * `address-not-allowed`) still spends its nonce: `append` is then the replay record to persist, so a
 * captured packet cannot be accepted later (say after a reload widened the door) within its window.
 */
export type SpaVerdict =
  | { readonly ok: true; readonly value: SpaAccepted }
  | { readonly ok: false; readonly reason: SpaRejectReason; readonly detail?: string; readonly append?: Uint8Array };

export function verifySpa(packet: Uint8Array, ctx: SpaVerifyContext): SpaVerdict {
  if (packet.length < MIN_PACKET_LEN) return reject('too-short');
  if (packet.length > MAX_PACKET_LEN) return reject('too-long');
  const door = ctx.door;
  const src = parseAddr(ctx.src);
  if (!src) return reject('bad-source', ctx.src);
  if (door.from && !door.from.some((n) => n.family === src.family && cidrContains(n, src.bytes))) return reject('source-not-allowed');
  const keyring = ctx.keyring ?? keyringFor(door);
  const entry = keyring.entries.find((e) => hintMatches(e.keys, packet));
  if (!entry) return reject('unknown-client');
  const plain = openEnvelope(entry.keys, packet);
  if (!plain) return reject('bad-auth', entry.client.name);
  const body = authenticBody(entry, packet, plain);
  if (!body) return reject('bad-signature', entry.client.name);
  if (body[0] !== SPA_VERSION) return reject('bad-version', `${entry.client.name}: version ${body[0]}`);
  const decoded = decodeBody(body);
  if (!decoded.ok) return reject('malformed', `${entry.client.name}: ${decoded.detail ?? ''}`);
  const req = decoded.value;
  if (req.name !== undefined && req.name !== entry.client.name) return reject('name-mismatch', `${entry.client.name} sent name ${req.name}`);
  const windowMs = door.spa.windowSec * 1000;
  if (req.tsMs < ctx.nowMs - windowMs) return reject('stale', `${entry.client.name}: ${ctx.nowMs - req.tsMs} ms old`);
  if (req.tsMs > ctx.nowMs + windowMs) return reject('future', `${entry.client.name}: ${req.tsMs - ctx.nowMs} ms ahead`);
  // A cache keeping nonces for less than this door's window would let late replays through.
  if (ctx.replay.windowMs < windowMs) return reject('replay-window', `cache keeps ${ctx.replay.windowMs} ms, door needs ${windowMs} ms`);
  const nonce = packet.subarray(0, NONCE_LEN);
  const fresh = ctx.replay.check(nonce, req.tsMs, ctx.nowMs);
  if (!fresh.ok) return reject(fresh.reason, entry.client.name);
  // Authentic and fresh from here on: whatever the answer, this nonce is spent.
  const append = ctx.replay.record(nonce, req.tsMs);
  const services = grantedServices(entry, req.access);
  if (!services.ok) return { ...services, append };
  const target = targetAddr(door, src, req.addr);
  if (!target.ok) return { ...target, append };
  const grant: Grant = { door: door.name, family: target.value.family, addr: grantAddr(door, target.value), services: services.value, timeoutSec: timeoutOf(door, req) };
  return ok({ grant, client: entry.client.name, request: req, append });
}

/** The body, once authentic: AEAD clients are authenticated by the tag; Ed25519 clients by the signature. */
function authenticBody(entry: KeyringEntry, packet: Uint8Array, plain: Uint8Array): Uint8Array | undefined {
  if (!entry.publicKey) return plain;
  if (plain.length < SIG_LEN + 1) return undefined;
  const body = plain.subarray(0, plain.length - SIG_LEN);
  const msg = signedMessage(packet.subarray(0, NONCE_LEN + HINT_LEN), body);
  return ed25519Verify(entry.publicKey, msg, plain.subarray(plain.length - SIG_LEN)) ? body : undefined;
}

/**
 * No request: everything this client's entry allows (forwarded services and port forwards included).
 * A request: each asked service must be one the entry allows, compared as Services (today's wire
 * format names this host's ports only).
 */
function grantedServices(entry: KeyringEntry, askedPorts: readonly PortSpec[]): Outcome<readonly Service[], 'access-denied'> {
  if (askedPorts.length === 0) return entry.allowed.length > 0 ? ok(entry.allowed) : reject('access-denied', `${entry.client.name}: nothing to open`);
  const asked = askedPorts.map(localService);
  for (const s of asked) {
    if (!entry.allowed.some((a) => sameService(a, s))) return reject('access-denied', `${entry.client.name} asked for ${formatService(s)}`);
  }
  return ok(asked);
}

function targetAddr(door: SpaDoor, src: IpAddr, asked: IpAddr | undefined): Outcome<IpAddr, 'address-not-allowed'> {
  if (!asked || asked.text === src.text) return ok(src);
  if (!door.spa.allowAddress) return reject('address-not-allowed', `asked for ${asked.text}, door has no allow_address`);
  if (asked.bytes.every((b) => b === 0)) return reject('address-not-allowed', 'unspecified address');
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
