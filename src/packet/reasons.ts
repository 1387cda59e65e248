/**
 * Why a captured frame is not a knock. A small fixed set so the daemon can keep one counter each.
 * Frames are hostile input: every way they can be short or malformed maps to one of these.
 */
import type { Outcome, KnockEvent } from '../core';

export const DECODE_REASONS = [
  /** Link type we do not decode (only Ethernet, Linux SLL/SLL2 and raw IP are). */
  'unsupported-link',
  /** Shorter than its link-layer header (including VLAN tags). */
  'truncated-link',
  /** More stacked 802.1Q/802.1ad tags than any real network uses. */
  'too-many-vlan-tags',
  /** Neither IPv4 nor IPv6 (ARP, LLDP, ...). */
  'not-ip',
  /** Sent by this host (SLL/SLL2 packet type "outgoing"): never a knock. */
  'outgoing',
  /** Shorter than the IP header it announces. */
  'truncated-ip',
  /** IP version, header length or total length inconsistent. */
  'bad-ip-header',
  /** IPv4 fragment (MF or offset) or IPv6 fragment header: knocks are never fragmented. */
  'ip-fragment',
  /** More IPv6 extension headers than we walk. */
  'too-many-ext-headers',
  /** Transport is not TCP or UDP (ICMP, ESP, no next header, ...). */
  'not-tcp-udp',
  /** Shorter than its TCP or UDP header. */
  'truncated-transport',
  /** TCP data offset below 5 words or past the IP payload. */
  'bad-tcp-header',
  /** UDP length below 8 or past the IP payload. */
  'bad-udp-length',
] as const;

export type DecodeReason = (typeof DECODE_REASONS)[number];

export type DecodeOutcome = Outcome<KnockEvent, DecodeReason>;

type Rejection = { readonly ok: false; readonly reason: DecodeReason };

/** One shared frozen rejection per reason: rejecting a flood of junk allocates nothing. */
export const REJECT: { readonly [R in DecodeReason]: Rejection } = Object.freeze(
  Object.fromEntries(DECODE_REASONS.map((r) => [r, Object.freeze({ ok: false as const, reason: r })])),
) as { readonly [R in DecodeReason]: Rejection };
