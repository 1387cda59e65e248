/**
 * The libpcap filter: only packets that can be knocks or SPA datagrams reach JavaScript.
 *
 * Checked with libpcap 1.10.3 (`tcpdump -d`, and live captures on `any`, a veth and a tun device):
 * - `inbound` compiles on all three (Linux reads the socket's packet type, not a header byte), so
 *   our own outgoing packets never wake us up.
 * - TCP flags are not filtered here: `tcp[13]` is refused over IPv6, so flags are checked in JS.
 * - `tcp dst port` over IPv6 only matches when TCP is the first next header: knocks carrying
 *   extension headers do not get through this filter even though the decoder handles them.
 * - An expression the optimizer proves empty (`ip and ip6`) fails to compile ("expression
 *   rejects all packets"), so "match nothing" is `len = 0`, which it does not fold.
 */
import type { PortSpec, Proto } from '../core';

/** A contiguous block of ports of one protocol, both ends included. */
export interface PortRange {
  readonly proto: Proto;
  readonly low: number;
  readonly high: number;
}

/** What to capture: single ports and ranges, inbound only. */
export interface CaptureSpec {
  readonly ports: readonly PortSpec[];
  readonly ranges: readonly PortRange[];
}

/** Matches no packet; libpcap 1.10 still compiles it (see above). */
export const MATCH_NOTHING = 'len = 0';

/**
 * The parts of `Config` (src/config/types.ts) this module reads, spelled out structurally because
 * `packet/` may import only `core/`. `Config` is assignable to it (checked in the unit test).
 */
export interface CaptureConfigView {
  readonly doors: readonly CaptureDoorView[];
}

export type CaptureDoorView =
  | {
      readonly kind: 'knock';
      readonly mode: 'daemon' | 'kernel';
      readonly sequence:
        | { readonly type: 'static'; readonly steps: readonly PortSpec[] }
        | { readonly type: 'rotate'; readonly portLow: number; readonly portHigh: number; readonly protocols: readonly Proto[] };
    }
  | { readonly kind: 'spa'; readonly spa: { readonly port: number } };

/**
 * Ports of daemon-mode knock doors (kernel-mode doors never need us), the UDP port of each SPA
 * door, and `extra` (steps of one-time sequences the daemon read from their files).
 */
export function captureSpecFromConfig(cfg: CaptureConfigView, extra: readonly PortSpec[] = []): CaptureSpec {
  const ports: PortSpec[] = [...extra];
  const ranges: PortRange[] = [];
  for (const door of cfg.doors) {
    if (door.kind === 'spa') {
      ports.push({ port: door.spa.port, proto: 'udp' });
    } else if (door.mode === 'daemon') {
      const seq = door.sequence;
      if (seq.type === 'static') ports.push(...seq.steps);
      else for (const proto of seq.protocols) ranges.push({ proto, low: seq.portLow, high: seq.portHigh });
    }
  }
  return { ports, ranges };
}

/**
 * `inbound and (tcp dst port 7000 or udp dst portrange 9000-9002 or ...)`: per protocol, sorted,
 * duplicates dropped and overlapping or adjacent ports merged into ranges. Empty spec → MATCH_NOTHING.
 * Throws RangeError on a port outside 1-65535: the spec comes from validated config, so that is a bug,
 * and a malformed number must never reach the filter text.
 */
export function buildCaptureFilter(spec: CaptureSpec): string {
  const terms: string[] = [];
  for (const proto of ['tcp', 'udp'] as const) {
    const blocks: Array<[number, number]> = [];
    for (const p of spec.ports) if (p.proto === proto) blocks.push([checkPort(p.port), p.port]);
    for (const r of spec.ranges) {
      if (r.proto !== proto) continue;
      if (checkPort(r.low) > checkPort(r.high)) throw new RangeError(`port range ${r.low}-${r.high} is empty`);
      blocks.push([r.low, r.high]);
    }
    for (const [lo, hi] of mergeBlocks(blocks)) {
      terms.push(lo === hi ? `${proto} dst port ${lo}` : `${proto} dst portrange ${lo}-${hi}`);
    }
  }
  return terms.length === 0 ? MATCH_NOTHING : `inbound and (${terms.join(' or ')})`;
}

function checkPort(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RangeError(`${n} is not a port 1-65535`);
  return n;
}

/** Sort and merge overlapping or touching [low, high] blocks. */
function mergeBlocks(blocks: Array<[number, number]>): Array<[number, number]> {
  blocks.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of blocks) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}
