/** Frame → KnockEvent. Pure, never throws: every malformed frame is a `{ok: false, reason}`. */
import type { Frame } from '../core';
import { decodeLink, linkOffset, linkVersion } from './link';
import { decodeIPv4 } from './ipv4';
import { decodeIPv6 } from './ipv6';
import { REJECT, type DecodeOutcome } from './reasons';

export function decodeFrame(frame: Frame): DecodeOutcome {
  const b = frame.data;
  const link = decodeLink(frame.linkType, b);
  if (typeof link === 'string') return REJECT[link];
  const off = linkOffset(link);
  if (off >= b.length) return REJECT['truncated-ip'];
  // Raw IP has no ethertype: the header's version nibble decides. Otherwise the two must agree.
  const nibble = (b[off] as number) >> 4;
  const version = linkVersion(link) || nibble;
  if (nibble !== version) return REJECT['bad-ip-header'];
  if (version === 4) return decodeIPv4(b, off, frame.at, frame.ifname);
  if (version === 6) return decodeIPv6(b, off, frame.at, frame.ifname);
  return REJECT['not-ip'];
}
