/**
 * One libpcap handle (pcap-lib.ts) made event-driven without blocking the event loop: the wait for
 * packets is a poll(2) on the handle's selectable fd run on libuv's thread pool (a koffi async
 * call), and the packets are then read on the main thread, non-blocking, in batches. An eventfd in
 * the same poll wakes it for close.
 *
 * Why this shape (measured on the 2-core test machine, loaded): the async poll round trip costs tens
 * of microseconds once per batch, not per packet. Per packet, pcap_dispatch calls back into
 * JavaScript once; the callback reads the captured length with koffi.decode and copies the bytes
 * with memcpy into one reused Buffer (~1-3 µs together), where wrapping the C memory with
 * koffi.view costs ~4-5 µs per view (an external ArrayBuffer each time: ~9 µs a packet with two,
 * measured). A worker thread would cost a second V8 heap (~10 MB idle); a blocking pcap call on the
 * main thread would stall timers and nft replies.
 * One thread-pool thread stays parked in poll(2) while the daemon runs (libuv has 4 by default).
 */
import { CaptureError } from '../core';
import { libpcap, PcapHandle, PKTHDR_CAPLEN, type Libpcap, type PcapOpenOptions } from './pcap-lib';

const POLLIN = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

/** What the capture needs of a packet source; the unit tests fake it. */
export interface PacketSource {
  readonly linkType: number;
  setFilter(filter: string): void;
  /** Hands up to `max` waiting packets to `onPacket` (bytes valid during the call only); returns how many. */
  read(max: number, onPacket: (data: Uint8Array, atMs: number) => void): number;
  /** Calls `ready` once, from the event loop, when packets wait or `wake` was called. */
  waitReadable(ready: () => void): void;
  wake(): void;
  stats(): { received: number; dropped: number };
  /** Only when no wait is pending (after `wake` and its `ready`). */
  close(): void;
}

export class PcapSource implements PacketSource {
  private readonly lib: Libpcap;
  private readonly handle: PcapHandle;
  private readonly wakeFd: number;
  private readonly pollfds = Buffer.alloc(16);
  private readonly counter = Buffer.alloc(8);
  private readonly cb: unknown;
  /** Each packet is copied here (the snap length bounds it) and handed on as a view of it. */
  private readonly frame: Buffer;
  private onPacket: ((data: Uint8Array, atMs: number) => void) | undefined;
  private closed = false;

  private constructor(opts: PcapOpenOptions) {
    this.lib = libpcap();
    this.handle = PcapHandle.open(opts);
    this.wakeFd = this.lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.wakeFd < 0) {
      this.handle.close();
      throw new CaptureError('cannot create an eventfd for the capture');
    }
    // struct pollfd { int fd; short events; short revents; }: the capture fd, then the wake-up.
    this.pollfds.writeInt32LE(this.handle.fd, 0);
    this.pollfds.writeInt16LE(POLLIN, 4);
    this.pollfds.writeInt32LE(this.wakeFd, 8);
    this.pollfds.writeInt16LE(POLLIN, 12);
    const k = this.lib.koffi;
    const frame = Buffer.alloc(opts.snapLen);
    this.frame = frame;
    this.cb = k.register((_user: unknown, hdr: unknown, bytes: unknown) => {
      // pcap_pkthdr on LP64: tv_sec (8), tv_usec (8), caplen (4). tv_sec's low 32 bits last until 2106.
      const caplen = Math.min(k.decode(hdr, PKTHDR_CAPLEN, 'uint32_t') as number, frame.length);
      const at = (k.decode(hdr, 0, 'uint32_t') as number) * 1000 + Math.floor((k.decode(hdr, 8, 'uint32_t') as number) / 1000);
      this.lib.copy(frame, bytes, caplen);
      this.onPacket?.(frame.subarray(0, caplen), at);
    }, this.lib.handlerType);
  }

  static open(opts: PcapOpenOptions): PcapSource {
    return new PcapSource(opts);
  }

  get linkType(): number {
    return this.handle.linkType;
  }

  setFilter(filter: string): void {
    this.handle.setFilter(filter);
  }

  read(max: number, onPacket: (data: Uint8Array, atMs: number) => void): number {
    this.onPacket = onPacket;
    try {
      return this.handle.dispatch(max, this.cb);
    } finally {
      this.onPacket = undefined;
    }
  }

  waitReadable(ready: () => void): void {
    this.lib.poll.async(this.pollfds, 2, -1, () => {
      // Reset a wake-up (non-blocking: EAGAIN when there was none).
      if (!this.closed) this.lib.read(this.wakeFd, this.counter, 8);
      ready();
    });
  }

  wake(): void {
    this.counter.writeBigUInt64LE(1n);
    this.lib.write(this.wakeFd, this.counter, 8);
  }

  stats(): { received: number; dropped: number } {
    return this.handle.stats();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
    this.lib.closeFd(this.wakeFd);
    this.lib.koffi.unregister(this.cb);
  }
}
