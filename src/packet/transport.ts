/** TCP and UDP headers → KnockEvent. */
import { formatIPv4, formatIPv6, type Family, type KnockEvent } from '../core';
import { REJECT, type DecodeOutcome } from './reasons';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Where the IP layer found things; all offsets into `b`. */
export interface IpView {
  readonly family: Family;
  /** Offset of the source address; the destination follows it (4 or 16 bytes on). */
  readonly addrOff: number;
  /** Offset of the transport header. */
  readonly off: number;
  /** End of the IP packet as its header declares it (may lie past the captured bytes). */
  readonly declaredEnd: number;
}

/**
 * Decode the TCP or UDP header at `ip.off`. Lengths are checked against both the IP header's
 * declared end and the captured bytes; payload views never reach past either.
 */
export function decodeTransport(b: Uint8Array, proto: number, ip: IpView, at: number, ifname: string): DecodeOutcome {
  const { off, declaredEnd } = ip;
  const capEnd = b.length;
  const end = declaredEnd < capEnd ? declaredEnd : capEnd;
  let hdrLen: number;
  let payloadEnd: number;
  let flags = 0;
  if (proto === IPPROTO_TCP) {
    if (off + 20 > end) return REJECT['truncated-transport'];
    // Data offset: high nibble of byte 12, in 32-bit words.
    hdrLen = ((b[off + 12] as number) >> 4) * 4;
    if (hdrLen < 20 || off + hdrLen > declaredEnd) return REJECT['bad-tcp-header'];
    if (off + hdrLen > capEnd) return REJECT['truncated-transport'];
    flags = b[off + 13] as number;
    payloadEnd = end;
  } else if (proto === IPPROTO_UDP) {
    if (off + 8 > end) return REJECT['truncated-transport'];
    hdrLen = 8;
    // UDP length covers header and data; it may be shorter than the IP payload, never longer.
    const udpLen = ((b[off + 4] as number) << 8) | (b[off + 5] as number);
    if (udpLen < 8 || off + udpLen > declaredEnd) return REJECT['bad-udp-length'];
    payloadEnd = off + udpLen < capEnd ? off + udpLen : capEnd;
  } else {
    return REJECT['not-tcp-udp'];
  }
  const { family, addrOff } = ip;
  const event: KnockEvent = {
    family,
    src: family === 4 ? formatIPv4(b, addrOff) : formatIPv6(b, addrOff),
    dst: family === 4 ? formatIPv4(b, addrOff + 4) : formatIPv6(b, addrOff + 16),
    proto: proto === IPPROTO_TCP ? 'tcp' : 'udp',
    sport: ((b[off] as number) << 8) | (b[off + 1] as number),
    dport: ((b[off + 2] as number) << 8) | (b[off + 3] as number),
    tcpFlags: flags,
    payload: b.subarray(off + hdrLen, payloadEnd),
    at,
    ifname,
  };
  return { ok: true, value: event };
}
