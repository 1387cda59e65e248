/**
 * Link layers: find where the IP header starts. Offsets are checked against the captured length
 * before any byte is read.
 */
import type { DecodeReason } from './reasons';

/** libpcap link types (DLT_* / LINKTYPE_*) we decode. */
export const LinkType = {
  ethernet: 1,
  /** DLT_RAW as Linux, macOS and most BSDs number it. */
  raw: 12,
  /** DLT_RAW on OpenBSD. */
  rawOpenBsd: 14,
  /** LINKTYPE_RAW, what savefiles carry for raw IP. */
  linktypeRaw: 101,
  linuxSll: 113,
  linuxSll2: 276,
} as const;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
/** Pre-standard QinQ outer tag, still emitted by some switches. */
const ETHERTYPE_QINQ_OLD = 0x9100;
/** QinQ is two tags; a third is tolerated, a fourth is junk. */
export const MAX_VLAN_TAGS = 3;
/** SLL/SLL2 packet type: sent by this host. */
const PACKET_OUTGOING = 4;

/**
 * Where the IP header starts, packed as `offset * 16 + version` (version 4 or 6 from the
 * ethertype, 0 for raw IP where the header's own nibble decides), or why there is none.
 * A number rather than an object keeps the per-packet path allocation-free.
 */
export type LinkResult = number | DecodeReason;

export const linkOffset = (r: number): number => r >>> 4;
export const linkVersion = (r: number): number => r & 15;

export function decodeLink(linkType: number, b: Uint8Array): LinkResult {
  switch (linkType) {
    case LinkType.ethernet:
      // dst MAC 6, src MAC 6, ethertype 2.
      return b.length < 14 ? 'truncated-link' : afterEthertype(b, 12);
    case LinkType.linuxSll:
      // pkttype 2, hatype 2, halen 2, address 8, protocol 2 (ethertype).
      if (b.length < 16) return 'truncated-link';
      if (((b[0] as number) << 8 | (b[1] as number)) === PACKET_OUTGOING) return 'outgoing';
      return afterEthertype(b, 14);
    case LinkType.linuxSll2:
      // protocol 2, reserved 2, ifindex 4, hatype 2, pkttype 1, halen 1, address 8.
      if (b.length < 20) return 'truncated-link';
      if (b[10] === PACKET_OUTGOING) return 'outgoing';
      return ipByEthertype(((b[0] as number) << 8) | (b[1] as number), 20);
    case LinkType.raw:
    case LinkType.rawOpenBsd:
    case LinkType.linktypeRaw:
      return 0;
    default:
      return 'unsupported-link';
  }
}

/** `at` is the offset of an ethertype field; VLAN tags (TPID 2 + TCI 2) may follow it. */
function afterEthertype(b: Uint8Array, at: number): LinkResult {
  let off = at;
  for (let tags = 0; ; tags++) {
    const type = ((b[off] as number) << 8) | (b[off + 1] as number);
    if (type !== ETHERTYPE_VLAN && type !== ETHERTYPE_QINQ && type !== ETHERTYPE_QINQ_OLD) {
      return ipByEthertype(type, off + 2);
    }
    if (tags === MAX_VLAN_TAGS) return 'too-many-vlan-tags';
    // Skip this tag's TCI; the next ethertype sits 4 bytes on.
    off += 4;
    if (off + 2 > b.length) return 'truncated-link';
  }
}

function ipByEthertype(type: number, ipOff: number): LinkResult {
  if (type === ETHERTYPE_IPV4) return ipOff * 16 + 4;
  if (type === ETHERTYPE_IPV6) return ipOff * 16 + 6;
  return 'not-ip';
}
