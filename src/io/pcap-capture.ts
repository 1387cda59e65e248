/**
 * The `Capture` port over libpcap, driven through koffi (pcap-lib.ts, pcap-source.ts).
 *
 * Why not the `cap` package any more: cap 0.2.1 hard-codes a 65,535-byte snap length (every
 * TPACKET_V2 ring frame ~64 KiB: 16 MiB held ~256 packets and a burst overflowed it) and
 * promiscuous mode, gives no packet timestamp, needs a compiler on the server (`npm ci` builds it)
 * and has no setfilter. A fork would still need the toolchain. koffi is already loaded for
 * libnftables and ships prebuilt binaries; measured on the 2-core test machine, its per-packet cost
 * keeps up with bench/sender.c's flood (docs/BENCHMARKS.md).
 *
 * What this adapter guarantees:
 * - One handle on libpcap's `any`, never promiscuous (on `any` promiscuity does not exist, and
 *   pcap_set_promisc(0) is set anyway), in cooked v2 (DLT_LINUX_SLL2): each frame carries the index
 *   of the interface it arrived on, named through IfNames (ifnames.ts), so interfaces created or
 *   recreated after start are labelled right without a restart.
 * - Named capture `interfaces` are a filter on that label, not separate handles or `ifindex`
 *   terms: an interface that does not exist yet matches as soon as it appears.
 * - A snap length given by the caller (capture-size.ts: headers, plus the largest SPA datagram a
 *   door accepts) and a ring sized in packets (`limits.capture_ring`).
 * - `Frame.at` is the kernel's capture timestamp.
 */
import { CaptureError, type Capture, type Frame } from '../core';
import { ringFor } from './pcap-ring';
import { DLT_LINUX_SLL2 } from './pcap-lib';
import { PcapSource, type PacketSource } from './pcap-source';
import { IfNames, systemIndexToName, type IndexToName } from './ifnames';

export interface PcapCaptureOptions {
  /** Interfaces to capture on; `any` (the default) covers all. Names that do not exist (yet) are fine. */
  readonly interfaces?: readonly string[];
  /** Ring size in packets (default DEFAULT_RING_PACKETS). */
  readonly ringPackets?: number;
  /** Opens a packet source; default the real libpcap one. */
  readonly openSource?: (o: { snapLen: number; bufferBytes: number; filter: string }) => PacketSource;
  /** Interface index → name; default if_indextoname(3). */
  readonly indexToName?: IndexToName;
  /** Monotonic ms for the interface-name cache; default performance.now. */
  readonly now?: () => number;
  /** A read failure (the capture goes on after a pause). */
  readonly onError?: (err: Error) => void;
}

export const DEFAULT_RING_PACKETS = 4096;
/** Headers only (packet/capture-size.ts HEADER_BUDGET): what a caller that names no snap length gets. */
const DEFAULT_SNAP_LEN = 160;
/** The cooked v2 header: protocol 2, reserved 2, ifindex 4, hatype 2, pkttype 1, halen 1, address 8. */
const SLL2_HEADER = 20;
/** Packets read per pcap_dispatch call, and calls per wake-up before other events get a turn. */
const BATCH = 256;
const MAX_BATCHES = 16;
const ANY = 'any';

export class PcapCapture implements Capture {
  private readonly only: ReadonlySet<string> | undefined;
  private readonly ringPackets: number;
  private readonly openSource: NonNullable<PcapCaptureOptions['openSource']>;
  private readonly names: IfNames;
  private readonly onError: (err: Error) => void;
  private source: PacketSource | undefined;
  private snapLen = DEFAULT_SNAP_LEN;
  /** The caller's filter, and the interface indexes dropped in front of it (skipInterfaces). */
  private filter = '';
  private skip: readonly number[] = [];
  /** Sources replaced by a new snap length, closed once their pending wait has returned. */
  private retired: PacketSource[] = [];
  private waiting = 0;
  private onFrame: ((frame: Frame) => void) | undefined;
  private idle: (() => void) | undefined;
  private dropped = 0;

  constructor(opts: PcapCaptureOptions = {}) {
    const wanted = opts.interfaces && opts.interfaces.length > 0 ? opts.interfaces : [ANY];
    this.only = wanted.includes(ANY) ? undefined : new Set(wanted);
    this.ringPackets = opts.ringPackets ?? DEFAULT_RING_PACKETS;
    this.openSource = opts.openSource ?? ((o) => PcapSource.open(o));
    const now = opts.now ?? (() => performance.now());
    this.names = new IfNames(opts.indexToName ?? ((i) => systemIndexToName()(i)), now);
    this.onError = opts.onError ?? (() => undefined);
  }

  async start(filter: string, onFrame: (frame: Frame) => void, snapLen = DEFAULT_SNAP_LEN): Promise<void> {
    if (this.onFrame) throw new CaptureError('capture already started');
    this.filter = filter;
    this.source = this.open(snapLen);
    this.onFrame = onFrame;
    this.arm(this.source);
  }

  /**
   * Same snap length: the filter is swapped on the open handle (the kernel replaces it atomically).
   * Another one: a new handle is opened before the old is retired; the old ring is read to its end.
   */
  async setFilter(filter: string, snapLen = this.snapLen): Promise<void> {
    const cur = this.source;
    if (!cur || !this.onFrame) throw new CaptureError('capture not started');
    this.filter = filter;
    if (snapLen === this.snapLen) return cur.setFilter(this.kernelFilter(cur));
    const fresh = this.open(snapLen);
    this.source = fresh;
    this.retired.push(cur);
    cur.wake();
    this.arm(fresh);
  }

  async close(): Promise<void> {
    const all = [...this.retired, ...(this.source ? [this.source] : [])];
    this.source = undefined;
    this.onFrame = undefined;
    if (this.waiting > 0) {
      const done = new Promise<void>((res) => (this.idle = res));
      for (const s of all) s.wake();
      await done;
    }
    for (const s of all) s.close();
    this.retired = [];
  }

  /**
   * Frames from these interfaces are dropped by the kernel's filter (`not (ifindex 3 or ...)` in
   * front of the caller's), swapped in atomically on the open handle. Only with cooked v2 frames,
   * whose header holds the interface index; otherwise the list is kept and changes nothing.
   */
  async skipInterfaces(ifindexes: readonly number[]): Promise<void> {
    const before = this.skip;
    this.skip = [...ifindexes];
    try {
      if (this.source) this.source.setFilter(this.kernelFilter(this.source));
    } catch (e) {
      this.skip = before;
      throw e;
    }
  }

  /** The filter the kernel runs for a source: the caller's, behind the skipped interfaces. */
  private kernelFilter(s: PacketSource): string {
    if (this.skip.length === 0 || s.linkType !== DLT_LINUX_SLL2) return this.filter;
    return `not (${this.skip.map((i) => `ifindex ${i}`).join(' or ')}) and (${this.filter})`;
  }

  /** Packets the kernel dropped because the ring was full, since start (all handles). */
  counters(): { dropped: number } {
    return { dropped: this.dropped + (this.source?.stats().dropped ?? 0) };
  }

  /** A new handle with the caller's filter; the skipped interfaces are added once its link type is known. */
  private open(snapLen: number): PacketSource {
    const { bufferBytes } = ringFor(this.ringPackets, snapLen);
    try {
      const s = this.openSource({ snapLen, bufferBytes, filter: this.filter });
      if (this.skip.length > 0) {
        try {
          s.setFilter(this.kernelFilter(s));
        } catch {
          // Skipping is an optimization (DuplicateFilter still drops the copies): the caller's filter stays.
        }
      }
      this.snapLen = snapLen;
      return s;
    } catch (e) {
      if (e instanceof CaptureError) throw e;
      throw new CaptureError(`cannot capture: ${(e as Error).message}`, { cause: e });
    }
  }

  private arm(s: PacketSource): void {
    this.waiting++;
    s.waitReadable(() => {
      this.waiting--;
      if (this.source !== s) return this.retire(s);
      if (!this.onFrame) return this.settle();
      try {
        for (let i = 0; i < MAX_BATCHES && s.read(BATCH, this.deliver) === BATCH; i++);
      } catch (e) {
        this.onError(e as Error);
        setTimeout(() => this.source === s && this.arm(s), 1000).unref();
        return;
      }
      this.arm(s);
    });
  }

  private retire(s: PacketSource): void {
    if (this.onFrame) {
      try {
        while (s.read(BATCH, this.deliver) === BATCH);
      } catch {
        /* the old ring is being dropped anyway */
      }
    }
    this.dropped += s.stats().dropped;
    this.retired = this.retired.filter((r) => r !== s);
    s.close();
    this.settle();
  }

  private settle(): void {
    if (this.waiting === 0 && this.idle) {
      const done = this.idle;
      this.idle = undefined;
      done();
    }
  }

  private readonly deliver = (data: Uint8Array, at: number): void => {
    const cb = this.onFrame;
    if (!cb) return;
    const linkType = this.source?.linkType ?? DLT_LINUX_SLL2;
    let ifname = ANY;
    if (linkType === DLT_LINUX_SLL2 && data.length >= SLL2_HEADER) {
      // SLL2 bytes 4-7: the interface index, network byte order.
      const ifindex = (((data[4] as number) << 24) | ((data[5] as number) << 16) | ((data[6] as number) << 8) | (data[7] as number)) >>> 0;
      ifname = this.names.nameOf(ifindex);
    }
    if (this.only && !this.only.has(ifname)) return;
    cb({ linkType, data, at, ifname });
  };
}
