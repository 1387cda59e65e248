/**
 * fwknop 2.x SPA datagrams (FKO protocol 3.0.0), as the fwknop client builds them
 * (lib/fko_encode.c, fko_encryption.c, fko_hmac.c in the fwknop sources):
 *
 *   datagram  = B64(ciphertext)[10..] || B64(HMAC)           base64 without '=' padding
 *   HMAC      = HMAC-<digest>(hmac_key, "U2FsdGVkX1" || B64(ciphertext)[10..])
 *   ciphertext = "Salted__" || salt(8) || AES-256-CBC(key, iv, plaintext + PKCS#7 padding)
 *   plaintext = encoded || ":" || B64(SHA-256(encoded))       (or MD5/SHA-1/SHA-384/SHA-512)
 *   encoded   = rand(16 digits) : B64(user) : timestamp : version : type : B64(message)
 *               [: B64(nat_access)] [: B64(server_auth)] [: client_timeout]
 *
 * "U2FsdGVkX1" is base64 of "Salted__" and is cut off by the client so that every datagram does not
 * start with the same 10 bytes. This file holds the limits and the plaintext decoder; pure, and the
 * decoder never throws on hostile text.
 */
import { createHash } from 'node:crypto';
import { type IpAddr, type Outcome, type PortSpec, ok, parseAddr, reject } from '../../core';

/** Largest fwknop datagram (MAX_SPA_ENCODED_MSG_SIZE): the capture must keep this much UDP payload. */
export const FWKNOP_MAX_PACKET_LEN = 1500;
/** Smallest: two AES blocks after the salt header (43 base64 characters less the 10 cut) + an MD5 HMAC. */
export const FWKNOP_MIN_PACKET_LEN = 33 + 22;
/** base64 of "Salted__": cut by the client, put back before the HMAC and decryption. */
export const SALTED_PREFIX = 'U2FsdGVkX1';
/** FKO_RAND_VAL_SIZE, MIN/MAX_SPA_FIELDS, MAX_SPA_USERNAME_SIZE, MAX_SPA_MESSAGE_SIZE. */
const RAND_LEN = 16;
const MIN_FIELDS = 6;
const MAX_FIELDS = 9;
const MAX_USERNAME = 64;
const MAX_MESSAGE = 256;
const RAND_RE = new RegExp(`^[0-9]{${RAND_LEN}}$`);

/** fwknop message types (fko.h). */
export const FKO_MSG = {
  command: 0, access: 1, natAccess: 2, timeoutAccess: 3, timeoutNatAccess: 4, localNatAccess: 5, timeoutLocalNatAccess: 6,
} as const;
const TIMEOUT_TYPES: readonly number[] = [FKO_MSG.timeoutAccess, FKO_MSG.timeoutNatAccess, FKO_MSG.timeoutLocalNatAccess];
const NAT_TYPES: readonly number[] = [FKO_MSG.natAccess, FKO_MSG.timeoutNatAccess, FKO_MSG.localNatAccess, FKO_MSG.timeoutLocalNatAccess];

/** Inner digest types, known by their base64 length without padding. */
const DIGEST_BY_B64_LEN: ReadonlyMap<number, string> = new Map([[22, 'md5'], [27, 'sha1'], [43, 'sha256'], [64, 'sha384'], [86, 'sha512']]);

/** What a client asks for, from the decrypted plaintext. */
export interface FwknopRequest {
  readonly rand: string;
  readonly username: string;
  /** Client clock, seconds since the epoch. */
  readonly timestamp: number;
  readonly version: string;
  readonly type: number;
  /** The address inside the message; undefined for `0.0.0.0` (the client's `-s`). */
  readonly addr?: IpAddr;
  readonly access: readonly PortSpec[];
  /** NAT request (`-N`), as sent; only for NAT message types. */
  readonly natAccess?: string;
  /** `-f`, seconds; only for the client-timeout message types. */
  readonly timeoutSec?: number;
}

export type FwknopDecodeReason = 'malformed' | 'bad-digest' | 'command-refused';

function b64text(field: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(field)) return undefined;
  return Buffer.from(field, 'base64').toString('latin1');
}

/** `proto/port,...` after the address. fwknop also knows icmp and none; nftknock opens tcp and udp only. */
function parseAccess(items: readonly string[]): PortSpec[] | undefined {
  const out: PortSpec[] = [];
  for (const it of items) {
    const m = /^(tcp|udp)\/([0-9]{1,5})$/.exec(it);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) return undefined;
    if (!out.some((p) => p.port === port && p.proto === m[1])) out.push({ proto: m[1] as 'tcp' | 'udp', port });
  }
  return out.length > 0 ? out : undefined;
}

/** Decode a decrypted plaintext (`encoded:digest`); the inner digest is checked here. */
export function decodePlaintext(text: string): Outcome<FwknopRequest, FwknopDecodeReason> {
  if (!/^[\x20-\x7e]+$/.test(text)) return reject('malformed', 'non-printable plaintext');
  const cut = text.lastIndexOf(':');
  const digest = text.slice(cut + 1);
  const alg = DIGEST_BY_B64_LEN.get(digest.length);
  if (cut < 0 || !alg) return reject('malformed', 'no digest of a known length');
  const encoded = text.slice(0, cut);
  const want = createHash(alg).update(encoded, 'latin1').digest('base64').replace(/=+$/, '');
  if (want !== digest) return reject('bad-digest');
  const f = encoded.split(':');
  if (f.length < MIN_FIELDS || f.length > MAX_FIELDS) return reject('malformed', `${f.length} fields`);
  const [rand = '', user64 = '', ts = '', version = '', typeText = '', msg64 = ''] = f;
  const type = /^[0-9]$/.test(typeText) ? Number(typeText) : -1;
  if (!RAND_RE.test(rand)) return reject('malformed', 'random value');
  const username = user64.length <= MAX_USERNAME * 2 ? b64text(user64) : undefined;
  if (username === undefined || username.length === 0 || username.length > MAX_USERNAME) return reject('malformed', 'username');
  if (!/^[0-9]{1,12}$/.test(ts)) return reject('malformed', 'timestamp');
  if (!/^[0-9.]{1,8}$/.test(version)) return reject('malformed', 'version');
  if (type < 0 || type > FKO_MSG.timeoutLocalNatAccess) return reject('malformed', `message type ${typeText}`);
  const message = msg64.length <= MAX_MESSAGE * 2 ? b64text(msg64) : undefined;
  if (message === undefined || message.length > MAX_MESSAGE) return reject('malformed', 'message');
  // A command message (`-C`) asks fwknopd to run a command (ENABLE_CMD_EXEC): never done here.
  if (type === FKO_MSG.command) return reject('command-refused', 'a command message (fwknop -C); nftknock never runs commands from datagrams');
  const parts = message.split(',');
  const addrText = parts[0] ?? '';
  const access = parseAccess(parts.slice(1));
  if (!/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(addrText) || !access) return reject('malformed', 'access message');
  const parsed = parseAddr(addrText);
  if (!parsed) return reject('malformed', 'address');
  let rest = f.slice(6);
  let natAccess: string | undefined;
  if (NAT_TYPES.includes(type)) {
    natAccess = b64text(rest[0] ?? '');
    if (natAccess === undefined) return reject('malformed', 'nat access');
    rest = rest.slice(1);
  }
  let timeoutSec: number | undefined;
  if (TIMEOUT_TYPES.includes(type)) {
    const t = rest[rest.length - 1] ?? '';
    if (!/^[0-9]{1,10}$/.test(t)) return reject('malformed', 'client timeout');
    timeoutSec = Number(t);
    rest = rest.slice(0, -1);
  }
  // What is left can only be a server_auth field (unused by fwknopd as by us).
  if (rest.length > 1 || (rest.length === 1 && b64text(rest[0] ?? '') === undefined)) return reject('malformed', 'trailing fields');
  const isAny = parsed.bytes.every((b) => b === 0);
  return ok({
    rand, username, timestamp: Number(ts), version, type, access,
    ...(isAny ? {} : { addr: parsed }),
    ...(natAccess !== undefined ? { natAccess } : {}),
    ...(timeoutSec !== undefined && timeoutSec > 0 ? { timeoutSec } : {}),
  });
}
