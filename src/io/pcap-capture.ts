/**
 * The `Capture` port over libpcap, through the `cap` package.
 *
 * Facts about cap 0.2.1 (src/binding.cc) this file is built around:
 * - `open()` always calls `pcap_set_promisc(handle, 1)`; there is no option. On a named Ethernet
 *   device that raises the device's promiscuity (seen as `promiscuity 1` in `ip -d link`). On
 *   libpcap's `any` device promiscuous mode does not exist and promiscuity stays 0. So every handle
 *   is opened on `any`, and a named interface becomes an `ifindex N` term of the filter, which Linux
 *   evaluates on the socket's metadata (SKF_AD_IFINDEX) for any link type. libpcap then drops the
 *   first packet after each open; pcap-primer.ts makes that packet one of ours.
 * - It sets immediate mode (looked up with dlsym in "libpcap.so") and a 1 s read timeout: with
 *   immediate mode a packet is delivered as soon as it arrives. Without libpcap.so (the -dev
 *   symlink) the lookup fails and delivery can wait for the 1 s timeout.
 * - It does not pass the packet header's timestamp to JavaScript, only `(nbytes, truncated)`, so
 *   `Frame.at` is the time of the callback.
 * - There is no setfilter: a new filter means a new handle.
 * - When `open()` throws after `pcap_create`, the half-open object must never be closed (close()
 *   stops a uv_poll handle that was never initialised: SIGSEGV) nor garbage-collected (its
 *   destructor calls close(): abort). Such objects are kept referenced in `quarantine`.
 */
import { readFileSync } from 'node:fs';
import { CaptureError, type Capture, type Frame } from '../core';
import { PcapPrimer } from './pcap-primer';

/** What we use of a `cap` Cap object. */
export interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

export interface PcapCaptureOptions {
  /** Interfaces to capture on; `any` (the default) covers all and makes the others redundant. */
  readonly interfaces?: readonly string[];
  /** libpcap's kernel ring per handle, bytes (default 16 MiB; see the constructor). */
  readonly bufferBytes?: number;
  /** Milliseconds since the epoch for `Frame.at` (cap gives no packet timestamp). */
  readonly now?: () => number;
  /** Kernel interface index of a name; default reads /sys/class/net/NAME/ifindex. */
  readonly ifindexOf?: (name: string) => number;
  /** Makes a Cap object; default `new (require('cap').Cap)()`. */
  readonly newCap?: () => CapHandle;
}

/** cap's link-type strings → DLT numbers. Unknown types arrive as "Unknown linktype N". */
const DLT_BY_NAME: Record<string, number> = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 12,
  IEEE802_11_RADIO: 127,
  LINKTYPE_LINUX_SLL: 113,
};

export function dltFromCapName(name: string): number {
  const known = DLT_BY_NAME[name];
  if (known !== undefined) return known;
  const m = /^Unknown linktype (\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Snap length cap uses (65535), so one packet always fits. */
const PACKET_BUFFER_BYTES = 65535;
const ANY = 'any';
const quarantine: CapHandle[] = [];

interface Handle {
  readonly ifname: string;
  readonly cap: CapHandle;
}

export class PcapCapture implements Capture {
  private readonly interfaces: readonly string[];
  private readonly bufferBytes: number;
  private readonly now: () => number;
  private readonly ifindexOf: (name: string) => number;
  private readonly newCap: () => CapHandle;
  private handles: Handle[] = [];
  private onFrame: ((frame: Frame) => void) | undefined;

  constructor(opts: PcapCaptureOptions = {}) {
    const wanted = opts.interfaces && opts.interfaces.length > 0 ? opts.interfaces : [ANY];
    // `any` already sees every interface; adding named ones would deliver each knock twice.
    this.interfaces = wanted.includes(ANY) ? [ANY] : [...new Set(wanted)];
    // cap fixes the snap length at 65535 and, on `any`, libpcap sizes each ring slot for it (~64 KiB):
    // 1 MiB held ~15 frames and a burst of knocks from 50 clients lost two thirds of them. 16 MiB
    // holds ~250 frames; the pages are only touched as frames arrive.
    this.bufferBytes = opts.bufferBytes ?? 16 << 20;
    this.now = opts.now ?? Date.now;
    this.ifindexOf = opts.ifindexOf ?? readIfindex;
    this.newCap = opts.newCap ?? defaultNewCap;
  }

  async start(filter: string, onFrame: (frame: Frame) => void): Promise<void> {
    if (this.onFrame) throw new CaptureError('capture already started');
    const primer = await this.openPrimer();
    this.handles = this.openAll(filter, primer);
    this.onFrame = onFrame;
    await primer?.fire();
  }

  /**
   * All or nothing: every new handle is opened before any old one is closed, in one synchronous
   * step, so no packet callback runs in between and none is delivered twice.
   */
  async setFilter(filter: string): Promise<void> {
    if (!this.onFrame) throw new CaptureError('capture not started');
    const primer = await this.openPrimer();
    const fresh = this.openAll(filter, primer);
    const old = this.handles;
    this.handles = fresh;
    closeAll(old);
    await primer?.fire();
  }

  async close(): Promise<void> {
    const old = this.handles;
    this.handles = [];
    this.onFrame = undefined;
    closeAll(old);
  }

  /** Only `ifindex` filters lose their first packet (see pcap-primer.ts). */
  private async openPrimer(): Promise<PcapPrimer | undefined> {
    return this.interfaces.some((i) => i !== ANY) ? PcapPrimer.open() : undefined;
  }

  private openAll(filter: string, primer: PcapPrimer | undefined): Handle[] {
    const opened: Handle[] = [];
    try {
      for (const ifname of this.interfaces) opened.push(this.openOne(ifname, filter, primer));
    } catch (err) {
      closeAll(opened);
      primer?.close();
      throw err;
    }
    return opened;
  }

  private openOne(ifname: string, filter: string, primer: PcapPrimer | undefined): Handle {
    let full = filter;
    if (ifname !== ANY) {
      full = `(ifindex ${this.ifindexOf(ifname)} and (${filter}))`;
      if (primer) full = `${full} or ${primer.clause()}`;
    }
    const cap = this.newCap();
    const buffer = Buffer.alloc(PACKET_BUFFER_BYTES);
    let linkName: string;
    try {
      linkName = cap.open(ANY, full, this.bufferBytes, buffer);
    } catch (err) {
      quarantine.push(cap);
      throw new CaptureError(`cannot capture on ${ifname}: ${(err as Error).message}`, { cause: err });
    }
    const linkType = dltFromCapName(linkName);
    const view = (n: number): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset, n);
    cap.on('packet', (nbytes) => {
      const cb = this.onFrame;
      if (cb) cb({ linkType, data: view(nbytes), at: this.now(), ifname });
    });
    return { ifname, cap };
  }
}

function closeAll(handles: readonly Handle[]): void {
  for (const h of handles) {
    h.cap.removeAllListeners('packet');
    h.cap.close();
  }
}

function defaultNewCap(): CapHandle {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Cap } = require('cap') as { Cap: new () => CapHandle };
  return new Cap();
}

/** Interface names are at most 15 bytes and never contain '/'; refuse anything that could leave /sys/class/net. */
export function readIfindex(name: string): number {
  if (!/^[^/\s]{1,15}$/.test(name) || name === '.' || name === '..') throw new CaptureError(`not an interface name: "${name}"`);
  let text: string;
  try {
    text = readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8');
  } catch (err) {
    throw new CaptureError(`no such interface: ${name}`, { cause: err });
  }
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n <= 0) throw new CaptureError(`no ifindex for interface ${name}: "${text.trim()}"`);
  return n;
}
