/**
 * Client side: build one SPA datagram. Pure: time and randomness come in as arguments, so the
 * same inputs give the same bytes (the test vectors rely on it).
 */
import { randomBytes } from 'node:crypto';
import { type PortSpec, parseAddr } from '../core';
import { deriveEnvelopeKeys, computeHint, ed25519PublicFromSeed, ed25519Sign, sealEnvelope, signedMessage } from './envelope';
import type { SpaClientKey } from './keys';
import { MAX_PACKET_LEN, NONCE_LEN, SPA_VERSION, type SpaRequest, encodeBody } from './wire';

export interface SpaPacketInput {
  readonly key: SpaClientKey;
  /** Services to open; empty or absent = everything the server lets this client open. */
  readonly access?: readonly PortSpec[];
  /** Address to open instead of the datagram's source (the door needs `allow_address: true`). */
  readonly addr?: string;
  readonly timeoutSec?: number;
  /** Client name as the server knows it; checked by the server when present. */
  readonly name?: string;
  /** Client clock, ms since the epoch. */
  readonly nowMs: number;
  /** Source of the 24-byte nonce; node:crypto's randomBytes when absent. */
  readonly random?: (n: number) => Uint8Array;
  /** Tests only: another version byte. */
  readonly version?: number;
}

/** The datagram to send to the door's UDP port. Throws RangeError on a request no server would accept. */
export function buildSpaPacket(input: SpaPacketInput): Uint8Array {
  const addr = input.addr === undefined ? undefined : parseAddr(input.addr);
  if (input.addr !== undefined && !addr) throw new RangeError(`"${input.addr}" is not an IPv4 or IPv6 address`);
  const req: SpaRequest = {
    version: input.version ?? SPA_VERSION,
    tsMs: input.nowMs,
    access: input.access ?? [],
    ...(addr ? { addr } : {}),
    ...(input.timeoutSec !== undefined ? { timeoutSec: input.timeoutSec } : {}),
    ...(input.name !== undefined ? { name: input.name } : {}),
  };
  const body = encodeBody(req);
  const nonce = (input.random ?? randomBytes)(NONCE_LEN);
  if (nonce.length !== NONCE_LEN) throw new RangeError(`the random source gave ${nonce.length} bytes, want ${NONCE_LEN}`);
  const k = input.key;
  let packet: Uint8Array;
  if (k.type === 'aead') {
    packet = sealEnvelope(deriveEnvelopeKeys('aead', k.key), nonce, body);
  } else {
    const keys = deriveEnvelopeKeys('ed25519', ed25519PublicFromSeed(k.seed));
    const head = Buffer.concat([nonce, computeHint(keys, nonce)]);
    const sig = ed25519Sign(k.seed, signedMessage(head, body));
    packet = sealEnvelope(keys, nonce, Buffer.concat([body, sig]));
  }
  if (packet.length > MAX_PACKET_LEN) throw new RangeError(`the request needs ${packet.length} bytes, more than ${MAX_PACKET_LEN}`);
  return packet;
}
