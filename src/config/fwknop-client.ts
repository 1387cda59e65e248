/**
 * The stanzas of a `spa.format: fwknop` door: fwknopd's access.conf stanzas, one client each.
 * Schema-valid raw data → FwknopClient, with the checks a schema cannot express (key lengths,
 * `open` within the door's).
 */
import { type Cidr, type Service, formatService, parseCidr, parseDuration, parseService, sameService } from '../core';

/** fwknop's HMAC_DIGEST_TYPE values (lower case). */
export type FwknopHmacDigest = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sha3_256' | 'sha3_512';

/** One access.conf stanza. Every optional field falls back to the door's setting. */
export interface FwknopClient {
  readonly name: string;
  /** KEY_BASE64 (or KEY's bytes): the Rijndael passphrase, 1 to 32 bytes. */
  readonly key: Uint8Array;
  /** HMAC_KEY_BASE64 (or HMAC_KEY's bytes), 1 to 128 bytes. Required: no HMAC, no door. */
  readonly hmacKey: Uint8Array;
  readonly hmacDigest: FwknopHmacDigest;
  /** REQUIRE_USERNAME. */
  readonly username?: string;
  /**
   * OPEN_PORTS: a subset of the door's `open`; undefined = all of it. A port forward here
   * (`22/tcp=>192.168.1.10:22`) is FORCE_NAT: a request for 22/tcp gets the forward.
   */
  readonly open?: readonly Service[];
  /** SOURCE: networks this stanza accepts datagrams from; undefined = ANY. */
  readonly from?: readonly Cidr[];
  /** FW_ACCESS_TIMEOUT. */
  readonly timeoutSec?: number;
  /** MAX_FW_TIMEOUT: cap on a client's `-f`; without it (here and on the door) `-f` is ignored. */
  readonly maxTimeoutSec?: number;
  /** REQUIRE_SOURCE_ADDRESS: refuse `-s` (0.0.0.0), the datagram must name its address. */
  readonly requireAddress: boolean;
  /** May `-a` name an address other than the datagram's source; undefined = the door's allow_address. */
  readonly allowAddress?: boolean;
}

/** fwknop's limits: RIJNDAEL_MAX_KEYSIZE and MAX_DIGEST_BLOCK_LEN. */
export const FWKNOP_MAX_KEY_LEN = 32;
export const FWKNOP_MAX_HMAC_KEY_LEN = 128;

type Raw = Record<string, unknown>;
type Segs = (string | number)[];

export interface FwknopNormalizeSink {
  err(segs: Segs, message: string): void;
  warn(segs: Segs, message: string): void;
}

function keyBytes(sink: FwknopNormalizeSink, text: unknown, segs: Segs, max: number, weakBelow: number, what: string): Uint8Array {
  const s = String(text);
  const b = Buffer.from(s.slice(s.indexOf(':') + 1), 'base64');
  if (b.length === 0 || b.length > max) sink.err(segs, `decodes to ${b.length} bytes; an fwknop ${what} is 1 to ${max} bytes`);
  else if (b.length < weakBelow) sink.warn(segs, `is only ${b.length} bytes: a short ${what} can be guessed; make new keys with fwknop --key-gen`);
  return new Uint8Array(b);
}

function duration(sink: FwknopNormalizeSink, v: unknown, segs: Segs): number | undefined {
  if (v === undefined) return undefined;
  const n = parseDuration(v as number | string);
  if (n === undefined || n < 1) sink.err(segs, `${JSON.stringify(v)} is not a duration of at least 1 second`);
  return n;
}

function client(sink: FwknopNormalizeSink, name: string, rc: Raw, cs: Segs, doorOpen: readonly Service[]): FwknopClient {
  const c: { -readonly [K in keyof FwknopClient]: FwknopClient[K] } = {
    name,
    key: keyBytes(sink, rc.key, [...cs, 'key'], FWKNOP_MAX_KEY_LEN, 16, 'Rijndael key'),
    hmacKey: keyBytes(sink, rc.hmac_key, [...cs, 'hmac_key'], FWKNOP_MAX_HMAC_KEY_LEN, 32, 'HMAC key'),
    hmacDigest: (rc.hmac_digest as FwknopHmacDigest | undefined) ?? 'sha256',
    requireAddress: (rc.require_address as boolean | undefined) ?? false,
  };
  if (rc.username !== undefined) c.username = String(rc.username);
  if (rc.allow_address !== undefined) c.allowAddress = rc.allow_address as boolean;
  const t = duration(sink, rc.timeout, [...cs, 'timeout']);
  if (t !== undefined) c.timeoutSec = t;
  const m = duration(sink, rc.max_timeout, [...cs, 'max_timeout']);
  if (m !== undefined) c.maxTimeoutSec = m;
  if (t !== undefined && m !== undefined && m < t) sink.err([...cs, 'max_timeout'], `is shorter than this client's timeout (${t}s)`);
  if (rc.open !== undefined) {
    const open: Service[] = [];
    (rc.open as string[]).forEach((s, i) => {
      const r = parseService(s);
      if (!r.ok) sink.err([...cs, 'open', i], r.detail ?? r.reason);
      else if (!doorOpen.some((o) => sameService(o, r.value))) sink.err([...cs, 'open', i], `"${formatService(r.value)}" is not in the door's open list`);
      else open.push(r.value);
    });
    c.open = open;
  }
  if (rc.from !== undefined) {
    const from: Cidr[] = [];
    (rc.from as string[]).forEach((s, i) => {
      const n = parseCidr(s);
      if (n) from.push(n);
      else sink.err([...cs, 'from', i], `"${s}" is not an IPv4/IPv6 address or network (e.g. 192.0.2.0/24)`);
    });
    c.from = from;
  }
  return c;
}

/** Normalize `spa.clients` of a fwknop door (`ss` is the path of `spa`). */
export function normalizeFwknopClients(sink: FwknopNormalizeSink, clients: Record<string, Raw>, ss: Segs, doorOpen: readonly Service[]): FwknopClient[] {
  // One key pair in several stanzas is allowed, as in fwknopd: stanzas take turns (see verifyFwknop).
  const out = Object.entries(clients).map(([name, rc]) => client(sink, name, rc, [...ss, 'clients', name], doorOpen));
  return out;
}
