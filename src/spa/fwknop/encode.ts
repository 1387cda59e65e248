/**
 * Build an fwknop datagram as the fwknop 2.6 client does (fko_encode.c, fko_spa_data_final). Not used
 * by the daemon: tests use it for cases the real client will not produce, and the bench for forgeries.
 * Randomness (the 16-digit value, the salt) is passed in, so the output is deterministic.
 */
import { createHash } from 'node:crypto';
import type { FwknopHmacDigest } from '../../config';
import { encryptBody, fwknopHmac } from './crypto';
import { FKO_MSG } from './wire';

export interface FwknopDatagramInput {
  readonly key: Uint8Array;
  readonly hmacKey: Uint8Array;
  readonly hmacDigest?: FwknopHmacDigest;
  /** 16 decimal digits. */
  readonly rand: string;
  /** 8 bytes. */
  readonly salt: Uint8Array;
  readonly username: string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  /** `addr,proto/port,...`, e.g. `192.0.2.7,tcp/22`; `0.0.0.0,...` is the client's `-s`. */
  readonly message: string;
  /** Message type; default: access, or client-timeout access when `timeoutSec` is set. */
  readonly type?: number;
  readonly timeoutSec?: number;
  readonly natAccess?: string;
}

function b64(s: string): string {
  return Buffer.from(s, 'latin1').toString('base64').replace(/=+$/, '');
}

/** The datagram's UDP payload (ASCII). */
export function buildFwknopDatagram(i: FwknopDatagramInput): string {
  const type = i.type ?? (i.timeoutSec !== undefined ? FKO_MSG.timeoutAccess : FKO_MSG.access);
  const fields = [i.rand, b64(i.username), String(i.timestamp), '3.0.0', String(type), b64(i.message)];
  if (i.natAccess !== undefined) fields.push(b64(i.natAccess));
  if (i.timeoutSec !== undefined) fields.push(String(i.timeoutSec));
  const encoded = fields.join(':');
  const digest = createHash('sha256').update(encoded, 'latin1').digest('base64').replace(/=+$/, '');
  const body = encryptBody(`${encoded}:${digest}`, i.key, i.salt);
  return body + fwknopHmac(i.hmacDigest ?? 'sha256', i.hmacKey, body);
}
