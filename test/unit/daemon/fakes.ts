/** Fakes for the daemon's ports: capture, nft, clock, state store, hooks. */
import type { Capture, Clock, Frame, NftBatch, NftRunner, StateStore } from '../../../src/core';
import { NftError } from '../../../src/core';
import type { HookRunner, HookResult } from '../../../src/io/hook-runner';

export class FakeCapture implements Capture {
  filter = '';
  private onFrame: ((f: Frame) => void) | undefined;
  async start(filter: string, onFrame: (f: Frame) => void): Promise<void> {
    this.filter = filter;
    this.onFrame = onFrame;
  }
  async setFilter(filter: string): Promise<void> {
    this.filter = filter;
  }
  async close(): Promise<void> {
    this.onFrame = undefined;
  }
  deliver(data: Uint8Array, at = Date.now()): void {
    this.onFrame?.({ linkType: 101, data, at, ifname: 'eth0' });
  }
}

/** Records every batch; fails the next `failNext` applies with nft's kind of message. */
export class RecordingNft implements NftRunner {
  readonly applied: NftBatch[] = [];
  failNext = 0;
  tableExists = true;
  /** Sets that take no new element: a batch adding to one fails whole, as nft's does (ENFILE). */
  readonly fullSets = new Set<string>();
  async apply(batch: NftBatch): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new NftError('add grant', 1, 'Error: Could not process rule: Device or resource busy');
    }
    const full = batch.nftables.find((c) => this.fullSets.has(String((c as { add?: { element?: { name?: string } } }).add?.element?.name)));
    if (full) throw new NftError('add grant', 1, 'Error: Could not process rule: Too many open files in system');
    this.applied.push(batch);
  }
  async check(): Promise<void> {}
  async list(): Promise<unknown> {
    if (!this.tableExists) throw new NftError('list', 1, 'Error: No such file or directory', { code: 'ERR_NFT_NOT_FOUND' });
    return { nftables: [] };
  }
}

export class FakeClock implements Clock {
  constructor(public wall = 1_800_000_000_000, public mono = 1000) {}
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
}

export class MemoryStore implements StateStore {
  readonly files = new Map<string, Uint8Array>();
  failAppend = false;
  async read(name: string): Promise<Uint8Array | undefined> {
    return this.files.get(name);
  }
  async append(name: string, data: Uint8Array): Promise<void> {
    if (this.failAppend) throw new Error('ENOSPC: no space left on device');
    this.files.set(name, Buffer.concat([this.files.get(name) ?? new Uint8Array(), data]));
  }
  async replace(name: string, data: Uint8Array): Promise<void> {
    this.files.set(name, data);
  }
}

export class RecordingHooks implements HookRunner {
  readonly runs: { argv: readonly string[]; vars: Record<string, string> }[] = [];
  async run(argv: readonly string[], vars: Readonly<Record<string, string>>): Promise<HookResult> {
    this.runs.push({ argv, vars: { ...vars } });
    return { ok: true, code: 0, stderr: '' };
  }
}

/** A raw IPv4 packet (LINKTYPE_RAW) with a TCP SYN or a UDP datagram. */
export function ipv4Packet(src: string, dst: string, proto: 'tcp' | 'udp', dport: number, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const l4len = proto === 'tcp' ? 20 : 8 + payload.length;
  const b = new Uint8Array(20 + l4len);
  b[0] = 0x45;
  b[2] = (20 + l4len) >> 8;
  b[3] = (20 + l4len) & 0xff;
  b[8] = 64;
  b[9] = proto === 'tcp' ? 6 : 17;
  b.set(src.split('.').map(Number), 12);
  b.set(dst.split('.').map(Number), 16);
  b[20] = 0xc0;
  b[21] = 0x01;
  b[22] = dport >> 8;
  b[23] = dport & 0xff;
  if (proto === 'tcp') {
    b[32] = 0x50;
    b[33] = 0x02;
  } else {
    b[24] = l4len >> 8;
    b[25] = l4len & 0xff;
    b.set(payload, 28);
  }
  return b;
}
