/** IPv4 header (RFC 791), options included. */
import { REJECT, type DecodeOutcome } from './reasons';
import { decodeTransport } from './transport';

/** Flags/fragment-offset word: MF bit and the 13-bit offset. Either set means a fragment. */
const MF_OR_OFFSET = 0x3fff;

export function decodeIPv4(b: Uint8Array, off: number, at: number, ifname: string): DecodeOutcome {
  if (off + 20 > b.length) return REJECT['truncated-ip'];
  const vihl = b[off] as number;
  if (vihl >> 4 !== 4) return REJECT['bad-ip-header'];
  // IHL counts 32-bit words and includes options: 5..15.
  const ihl = (vihl & 15) * 4;
  const totalLen = ((b[off + 2] as number) << 8) | (b[off + 3] as number);
  if (ihl < 20 || totalLen < ihl) return REJECT['bad-ip-header'];
  if (off + ihl > b.length) return REJECT['truncated-ip'];
  if (((((b[off + 6] as number) << 8) | (b[off + 7] as number)) & MF_OR_OFFSET) !== 0) return REJECT['ip-fragment'];
  return decodeTransport(b, b[off + 9] as number, { family: 4, addrOff: off + 12, off: off + ihl, declaredEnd: off + totalLen }, at, ifname);
}
