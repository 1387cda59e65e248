/**
 * One packet captured twice. On `any`, Linux hands a packet to the capture once per interface it
 * crosses: a bridge port and its bridge, a VLAN's parent and the VLAN interface, a bond's slave and
 * the bond. Without this, every knock on such a host is stepped twice (harmless: a back-to-back
 * repeat is a retransmit) and every SPA datagram is accepted once and then logged as a replay.
 *
 * A frame is a duplicate when its IP packet (from the IP header on, byte for byte) equals one of the
 * last RECENT frames' within WINDOW_MS. The copies of one packet arrive back to back in one softirq
 * run, so a short memory suffices even under a flood. A sender repeating a packet byte for byte
 * within a few milliseconds is seen once: a knock repeat is a retransmit anyway and an SPA repeat
 * a replay (the one exception, a sequence like `7000, 7000` sent from one socket within 5 ms, is in
 * docs/knock-semantics.md). Frames carry their interface, but it is deliberately not compared: the
 * copies of one packet are exactly the ones that arrive on different interfaces (the bridge and its
 * port). Pure: time is the frame's capture time.
 */
import type { Frame } from '../core';
import { decodeLink, linkOffset } from './link';

const RECENT = 16;
const WINDOW_MS = 5;

export class DuplicateFilter {
  private readonly hashes = new Uint32Array(RECENT);
  private readonly lengths = new Uint32Array(RECENT);
  private readonly times = new Float64Array(RECENT).fill(-Infinity);
  private readonly frames: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(RECENT).fill(undefined);
  private next = 0;

  /** True when `frame` repeats a recent frame's IP packet; otherwise remembers it. Never throws. */
  isDuplicate(frame: Frame): boolean {
    const b = frame.data;
    const link = decodeLink(frame.linkType, b);
    if (typeof link === 'string') return false;
    const off = linkOffset(link);
    if (off >= b.length) return false;
    const len = b.length - off;
    // The hash only saves byte comparisons (a match is confirmed byte for byte), so the first 48
    // bytes (IP header, ports, sequence number or the start of a payload) are enough to hash.
    let h = 0x811c9dc5;
    const end = Math.min(b.length, off + 48);
    for (let i = off; i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
    h >>>= 0;
    const now = frame.at;
    for (let k = 0; k < RECENT; k++) {
      if (this.hashes[k] !== h || this.lengths[k] !== len || now - (this.times[k] as number) > WINDOW_MS) continue;
      if (this.same(k, b, off, len)) return true;
    }
    const k = this.next;
    this.next = (k + 1) % RECENT;
    this.hashes[k] = h;
    this.lengths[k] = len;
    this.times[k] = now;
    // A copy: capture buffers are reused for the next frame.
    const kept = this.frames[k];
    const copy = kept && kept.length >= len ? kept : new Uint8Array(Math.max(len, 128));
    for (let i = 0; i < len; i++) copy[i] = b[off + i] as number;
    this.frames[k] = copy;
    return false;
  }

  private same(k: number, b: Uint8Array, off: number, len: number): boolean {
    const f = this.frames[k] as Uint8Array;
    for (let i = 0; i < len; i++) if (f[i] !== b[off + i]) return false;
    return true;
  }
}
