/** IPv6 header (RFC 8200) and the extension headers a knock may legitimately carry. */
import { REJECT, type DecodeOutcome } from './reasons';
import { decodeTransport } from './transport';

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const DEST_OPTIONS = 60;
/** RFC 8200 recommends at most one of each, twice for destination options; 8 is generous. */
export const MAX_EXT_HEADERS = 8;

export function decodeIPv6(b: Uint8Array, off: number, at: number, ifname: string): DecodeOutcome {
  if (off + 40 > b.length) return REJECT['truncated-ip'];
  if ((b[off] as number) >> 4 !== 6) return REJECT['bad-ip-header'];
  // Payload length excludes the fixed 40-byte header. 0 would mean a jumbogram: not a knock.
  const payloadLen = ((b[off + 4] as number) << 8) | (b[off + 5] as number);
  const declaredEnd = off + 40 + payloadLen;
  const end = declaredEnd < b.length ? declaredEnd : b.length;
  let next = b[off + 6] as number;
  let p = off + 40;
  for (let n = 0; ; n++) {
    if (next === FRAGMENT) return REJECT['ip-fragment'];
    if (next !== HOP_BY_HOP && next !== ROUTING && next !== DEST_OPTIONS) break;
    if (n === MAX_EXT_HEADERS) return REJECT['too-many-ext-headers'];
    // Next header 1 byte, then the length in 8-octet units not counting the first 8.
    if (p + 2 > end) return p + 2 > declaredEnd ? REJECT['bad-ip-header'] : REJECT['truncated-ip'];
    next = b[p] as number;
    p += ((b[p + 1] as number) + 1) * 8;
    if (p > declaredEnd) return REJECT['bad-ip-header'];
  }
  return decodeTransport(b, next, { family: 6, addrOff: off + 8, off: p, declaredEnd }, at, ifname);
}
