/**
 * Client side: build one SPA v2 datagram for a server identity and door. Pure: time and
 * randomness come in as arguments, so the same inputs give the same bytes (the test vectors rely on it).
 */
import { randomBytes } from 'node:crypto';
import { parseAddr } from '../core';
import {
  aeadAuth, authKey, clientId, computeMac1, ed25519PublicFromSeed, ed25519Sign, envelopeKey, mac1Key, seal, transcript,
  x25519, x25519PrivateKeyObject, x25519PublicFromPrivate,
} from './envelope';
import type { SpaClientKey } from './keys';
import { MAX_PACKET_LEN, SPA_VERSION, type SpaRequest, encodeBody } from './wire';

export interface SpaPacketInput {
  readonly key: SpaClientKey;
  /** The server identity (X25519 public key) and the door the datagram is for. */
  readonly server: Uint8Array;
  readonly door: string;
  /** Canonical texts of the door's `open` entries to ask for; empty or absent = everything this client may open. */
  readonly access?: readonly string[];
  /** Address to open (instead of the source, or the source itself for a `require_address` door). */
  readonly addr?: string;
  readonly timeoutSec?: number;
  /** Client clock, ms since the epoch. */
  readonly nowMs: number;
  /** Source of the 32-byte ephemeral private key; node:crypto's randomBytes when absent. */
  readonly random?: (n: number) => Uint8Array;
  /** Tests only: another version byte. */
  readonly version?: number;
}

/** The datagram to send to the door's UDP port. Throws RangeError on a request no server would accept. */
export function buildSpaPacket(input: SpaPacketInput): Uint8Array {
  const addr = input.addr === undefined ? undefined : parseAddr(input.addr);
  if (input.addr !== undefined && !addr) throw new RangeError(`"${input.addr}" is not an IPv4 or IPv6 address`);
  if (input.server.length !== 32) throw new RangeError(`a server identity is 32 bytes, got ${input.server.length}`);
  const req: SpaRequest = {
    version: input.version ?? SPA_VERSION,
    tsMs: input.nowMs,
    access: input.access ?? [],
    ...(addr ? { addr } : {}),
    ...(input.timeoutSec !== undefined ? { timeoutSec: input.timeoutSec } : {}),
  };
  const body = encodeBody(req);
  const r = new Uint8Array((input.random ?? randomBytes)(32));
  if (r.length !== 32) throw new RangeError(`the random source gave ${r.length} bytes, want 32`);
  // E = X25519(r, 9); bit 255 of E is always 0, so it carries bit 255 of r (unused by the clamped scalar).
  const eph = x25519PublicFromPrivate(r);
  eph[31] = (eph[31] as number) | ((r[31] as number) & 0x80);
  const shared = x25519(x25519PrivateKeyObject(r), input.server);
  if (!shared) throw new RangeError('the server identity is not a usable X25519 public key');
  const k = input.key;
  const id = k.type === 'aead' ? clientId('aead', k.key) : clientId('ed25519', ed25519PublicFromSeed(k.seed));
  const tr = transcript(input.server, input.door, eph, id, body);
  const auth = k.type === 'aead' ? aeadAuth(authKey(k.key), tr) : ed25519Sign(k.seed, tr);
  const sealed = seal(envelopeKey(shared, eph, input.server, input.door), eph, Buffer.concat([id, body, auth]));
  const head = Buffer.concat([eph, sealed]);
  const packet = new Uint8Array(Buffer.concat([head, computeMac1(mac1Key(input.server, input.door), head)]));
  if (packet.length > MAX_PACKET_LEN) throw new RangeError(`the request needs ${packet.length} bytes, more than ${MAX_PACKET_LEN}`);
  return packet;
}
