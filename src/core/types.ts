/**
 * Shared vocabulary of nftknock. Pure data, no I/O. Every other folder speaks in these types.
 */

/** Transport protocol of a knock or of an opened service. */
export type Proto = 'tcp' | 'udp';

/** IP family: 4 or 6. */
export type Family = 4 | 6;

/** A service port: `22/tcp` in config, `{port: 22, proto: 'tcp'}` here. */
export interface PortSpec {
  readonly port: number;
  readonly proto: Proto;
}

/* What a door opens: parsed and printed by core/service.ts. */
/** A port of this host: the form every door had before router doors. */
export interface LocalService extends PortSpec {
  readonly kind: 'local';
}

/** A host behind this one (`addr`, canonical text) and its port, reached through this host's forward path. */
export interface ForwardService {
  readonly kind: 'forward';
  readonly family: Family;
  readonly addr: string;
  readonly proto: Proto;
  readonly port: number;
}

/** This host's `port` DNATed to `toAddr`:`toPort` (same protocol) for the granted source. */
export interface PortForward {
  readonly kind: 'dnat';
  readonly proto: Proto;
  readonly port: number;
  readonly family: Family;
  readonly toAddr: string;
  readonly toPort: number;
}

export type Service = LocalService | ForwardService | PortForward;

/** One knock of a sequence: `7000:tcp` in config (knockd's notation). */
export type KnockStep = PortSpec;

/** TCP flag bits as on the wire (byte 13 of the TCP header). */
export const TcpFlag = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
} as const;
export type TcpFlagName = keyof typeof TcpFlag;

/**
 * A tcpflags filter (knockd's `tcpflags = syn,!ack`): a TCP knock counts only when
 * every bit of `set` is set and every bit of `unset` is clear. `{set: 0, unset: 0}` accepts all.
 */
export interface TcpFlagsFilter {
  readonly set: number;
  readonly unset: number;
}

/**
 * One decoded packet that may be a knock or an SPA datagram.
 * `src`/`dst` are canonical text addresses (IPv4 dotted quad, IPv6 RFC 5952), as nft prints them.
 * `at` is milliseconds since the epoch, taken from the capture header (an input, not the wall clock).
 */
export interface KnockEvent {
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  readonly proto: Proto;
  readonly sport: number;
  readonly dport: number;
  /** TCP flag byte; 0 for UDP. */
  readonly tcpFlags: number;
  /** Transport payload (UDP data for SPA). A view into the frame: copy before keeping it. */
  readonly payload: Uint8Array;
  readonly at: number;
  /** Capture interface name, when known. */
  readonly ifname?: string;
}

/**
 * Access to give: `services` (this host's ports, forwarded services, port forwards) to `addr` (a
 * single address, or a CIDR prefix for SPA NAT doors) for `timeoutSec` seconds, recorded with the
 * door's name as the set element's comment.
 */
export interface Grant {
  readonly door: string;
  readonly family: Family;
  /** Address, or network in `addr/len` form (prefix grants). */
  readonly addr: string;
  readonly services: readonly Service[];
  readonly timeoutSec: number;
}

/** Access to take away: `services` (all of them when absent) from `addr`. */
export interface Revoke {
  readonly door: string;
  readonly family: Family;
  readonly addr: string;
  readonly services?: readonly Service[];
}

/** One element read back from the kernel (`nft -j list set`). */
export interface AccessEntry {
  readonly family: Family;
  /** Address, or `addr/len` for a prefix element. */
  readonly addr: string;
  /**
   * What the element opens: this host's `port` (`local`, the default when absent), `port` of host
   * `to` through the forward path (`forward`), or this host's `port` DNATed by the nat chain
   * (`dnat`; the target is the config's port forward of that port).
   */
  readonly kind?: 'local' | 'forward' | 'dnat';
  /** Destination host of a `forward` element. */
  readonly to?: string;
  readonly proto: Proto;
  readonly port: number;
  /**
   * The comment: our door name (or `manual`, `anti-lockout`); for an element added from the packet
   * path (no comment), the door whose set holds it; undefined when neither says.
   */
  readonly door?: string;
  /** Configured timeout in seconds (undefined for a permanent element). */
  readonly timeoutSec?: number;
  /** Seconds left before the kernel removes it. */
  readonly expiresSec?: number;
  /** Name of the kernel set it was read from. */
  readonly set: string;
}

/** Outcome of pure, fallible steps on hostile input: never an exception. */
export type Outcome<T, R extends string = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: R; readonly detail?: string };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function reject<R extends string>(reason: R, detail?: string): { ok: false; reason: R; detail?: string } {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}
