/**
 * libpcap (libpcap.so.0.8, Debian's libpcap0.8 package) reached through the koffi FFI, as
 * nft-lib.ts reaches libnftables. koffi ships prebuilt binaries: nothing is compiled on the server.
 *
 * Only what the capture needs: a handle on `any` in cooked v2 (DLT_LINUX_SLL2, which carries the
 * interface index of every packet), our own snap length, promiscuous mode off, immediate mode (one
 * TPACKET_V2 ring frame per packet, delivered as it arrives), non-blocking reads, the selectable fd
 * and the kernel's drop counters. Loaded lazily, on the first open.
 */
import { CaptureError } from '../core';
import { koffi as loadKoffi, type Koffi } from './koffi';

/** DLT_LINUX_SLL2: protocol 2, reserved 2, ifindex 4 (network order), hatype 2, pkttype 1, halen 1, addr 8. */
export const DLT_LINUX_SLL2 = 276;
const PCAP_ERRBUF_SIZE = 256;
/** struct bpf_program on LP64: u_int bf_len, 4 bytes padding, struct bpf_insn *bf_insns. */
const BPF_PROGRAM_SIZE = 16;
/** struct pcap_pkthdr on LP64: struct timeval (tv_sec 8, tv_usec 8), caplen u32, len u32. */
export const PKTHDR_CAPLEN = 16;

type Fn = ReturnType<ReturnType<Koffi['load']>['func']>;

export interface Libpcap {
  readonly koffi: Koffi;
  readonly handlerType: unknown;
  create(dev: string, err: Buffer): unknown;
  setSnaplen(p: unknown, n: number): number;
  setPromisc(p: unknown, on: number): number;
  setImmediate(p: unknown, on: number): number;
  setBufferSize(p: unknown, n: number): number;
  activate(p: unknown): number;
  setDatalink(p: unknown, dlt: number): number;
  datalink(p: unknown): number;
  geterr(p: unknown): string;
  compile(p: unknown, prog: Buffer, expr: string, optimize: number, netmask: number): number;
  setfilter(p: unknown, prog: Buffer): number;
  freecode(prog: Buffer): void;
  setnonblock(p: unknown, on: number, err: Buffer): number;
  selectableFd(p: unknown): number;
  dispatch(p: unknown, cnt: number, cb: unknown, user: null): number;
  stats(p: unknown, out: Buffer): number;
  close(p: unknown): void;
  /** libc: poll(2) on a `struct pollfd[]` buffer, eventfd(2), write(2), read(2), close(2). */
  poll: Fn;
  eventfd(init: number, flags: number): number;
  write(fd: number, buf: Buffer, n: number): number;
  read(fd: number, buf: Buffer, n: number): number;
  /** memcpy(3) from a C pointer into a Buffer. */
  copy(dst: Buffer, src: unknown, n: number): unknown;
  closeFd(fd: number): number;
}

let loaded: Libpcap | undefined;

/** Loads koffi, libpcap and libc once; a CaptureError naming what is missing otherwise. */
export function libpcap(): Libpcap {
  if (loaded) return loaded;
  let koffi: Koffi;
  let pcap: ReturnType<Koffi['load']>;
  let libc: ReturnType<Koffi['load']>;
  try {
    koffi = loadKoffi();
    pcap = koffi.load('libpcap.so.0.8');
    libc = koffi.load('libc.so.6');
  } catch (e) {
    throw new CaptureError(`cannot load libpcap through koffi (install Debian's libpcap0.8): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const handlerType = koffi.pointer(koffi.proto('void nftknock_pcap_handler(void *user, void *hdr, void *bytes)'));
  const f = (sig: string): Fn => pcap.func(sig);
  loaded = {
    koffi,
    handlerType,
    create: f('void *pcap_create(const char *source, void *errbuf)') as Libpcap['create'],
    setSnaplen: f('int pcap_set_snaplen(void *p, int snaplen)') as Libpcap['setSnaplen'],
    setPromisc: f('int pcap_set_promisc(void *p, int promisc)') as Libpcap['setPromisc'],
    setImmediate: f('int pcap_set_immediate_mode(void *p, int immediate)') as Libpcap['setImmediate'],
    setBufferSize: f('int pcap_set_buffer_size(void *p, int size)') as Libpcap['setBufferSize'],
    activate: f('int pcap_activate(void *p)') as Libpcap['activate'],
    setDatalink: f('int pcap_set_datalink(void *p, int dlt)') as Libpcap['setDatalink'],
    datalink: f('int pcap_datalink(void *p)') as Libpcap['datalink'],
    geterr: f('const char *pcap_geterr(void *p)') as Libpcap['geterr'],
    compile: f('int pcap_compile(void *p, void *fp, const char *str, int optimize, uint32_t netmask)') as Libpcap['compile'],
    setfilter: f('int pcap_setfilter(void *p, void *fp)') as Libpcap['setfilter'],
    freecode: f('void pcap_freecode(void *fp)') as Libpcap['freecode'],
    setnonblock: f('int pcap_setnonblock(void *p, int nonblock, void *errbuf)') as Libpcap['setnonblock'],
    selectableFd: f('int pcap_get_selectable_fd(void *p)') as Libpcap['selectableFd'],
    dispatch: pcap.func(`int pcap_dispatch(void *p, int cnt, nftknock_pcap_handler *cb, void *user)`) as Libpcap['dispatch'],
    stats: f('int pcap_stats(void *p, void *ps)') as Libpcap['stats'],
    close: f('void pcap_close(void *p)') as Libpcap['close'],
    poll: libc.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    eventfd: libc.func('int eventfd(unsigned int initval, int flags)') as Libpcap['eventfd'],
    write: libc.func('long write(int fd, void *buf, unsigned long count)') as Libpcap['write'],
    read: libc.func('long read(int fd, void *buf, unsigned long count)') as Libpcap['read'],
    copy: libc.func('void *memcpy(void *dst, void *src, unsigned long n)') as Libpcap['copy'],
    closeFd: libc.func('int close(int fd)') as Libpcap['closeFd'],
  };
  return loaded;
}

export interface PcapOpenOptions {
  readonly snapLen: number;
  readonly bufferBytes: number;
  readonly filter: string;
}

/** One activated, non-blocking libpcap handle on `any` in cooked v2. Not thread-safe; close once. */
export class PcapHandle {
  private closed = false;
  private constructor(
    private readonly lib: Libpcap,
    private readonly p: unknown,
    readonly fd: number,
    readonly linkType: number,
  ) {}

  static open(opts: PcapOpenOptions): PcapHandle {
    const lib = libpcap();
    const err = Buffer.alloc(PCAP_ERRBUF_SIZE);
    const p = lib.create('any', err);
    if (!p) throw new CaptureError(`cannot capture on any: ${cString(err)}`);
    try {
      // Every setter returns PCAP_ERROR_ACTIVATED (-4) only after activation: cannot fail here.
      lib.setSnaplen(p, opts.snapLen);
      lib.setPromisc(p, 0);
      lib.setImmediate(p, 1);
      lib.setBufferSize(p, opts.bufferBytes);
      const rc = lib.activate(p);
      if (rc < 0) throw new CaptureError(`cannot capture on any: ${lib.geterr(p)}${rc === -8 ? ' (needs root or CAP_NET_RAW)' : ''}`);
      // libpcap 1.10 offers SLL2 on `any`; an older one keeps SLL (no interface index: frames say "any").
      lib.setDatalink(p, DLT_LINUX_SLL2);
      if (lib.setnonblock(p, 1, err) < 0) throw new CaptureError(`cannot capture on any: ${cString(err)}`);
      const h = new PcapHandle(lib, p, lib.selectableFd(p), lib.datalink(p));
      h.setFilter(opts.filter);
      return h;
    } catch (e) {
      lib.close(p);
      throw e;
    }
  }

  /** Replaces the kernel filter in one step (SO_ATTACH_FILTER swaps it atomically). */
  setFilter(filter: string): void {
    const prog = Buffer.alloc(BPF_PROGRAM_SIZE);
    if (this.lib.compile(this.p, prog, filter, 1, 0xffffffff) < 0) throw new CaptureError(`bad capture filter "${filter}": ${this.lib.geterr(this.p)}`);
    try {
      if (this.lib.setfilter(this.p, prog) < 0) throw new CaptureError(`cannot set the capture filter: ${this.lib.geterr(this.p)}`);
    } finally {
      this.lib.freecode(prog);
    }
  }

  /** Hands up to `max` waiting packets to `cb` (registered with `register`); 0 when none wait. */
  dispatch(max: number, cb: unknown): number {
    const n = this.lib.dispatch(this.p, max, cb, null);
    if (n < 0) throw new CaptureError(`capture failed: ${this.lib.geterr(this.p)}`);
    return n;
  }

  /** Packets the kernel passed the filter (`received`) and dropped because the ring was full. */
  stats(): { received: number; dropped: number } {
    const out = Buffer.alloc(12);
    if (this.closed || this.lib.stats(this.p, out) < 0) return { received: 0, dropped: 0 };
    return { received: out.readUInt32LE(0), dropped: out.readUInt32LE(4) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.p);
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}
