/**
 * In-process benchmarks, one process (the runner pins it to one core with taskset), run with
 * --expose-gc. Prints one JSON object on stdout. Every loop is bounded in time and in count.
 *   node --expose-gc dist/bench/inproc.js [SECONDS_PER_CASE]
 */
import { randomBytes } from 'node:crypto';
import { loadConfigText, type SpaDoor } from '../src/config';
import { decodeFrame, DuplicateFilter, LinkType } from '../src/packet';
import { KnockEngine } from '../src/knock';
import { spaRejectCases } from './spa-reject';
import type { Frame } from '../src/core';

const SECONDS = Number(process.argv[2] ?? 2);
const MAX_ITER = 50_000_000;

export interface RateResult {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly perSec: number;
  /** V8 heap plus typed-array memory after a full GC, minus before; MB. */
  readonly heapGrowthMB: number;
  readonly outcome: string;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Run `fn(i)` for SECONDS (checked every 256 calls) or MAX_ITER calls. */
function rate(name: string, fn: (i: number) => string): RateResult {
  gc();
  const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heap0 = used();
  const t0 = process.hrtime.bigint();
  const limit = t0 + BigInt(Math.round(SECONDS * 1e9));
  let i = 0;
  let last = '';
  for (; i < MAX_ITER; i++) {
    last = fn(i);
    if ((i & 255) === 0 && process.hrtime.bigint() > limit) break;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  gc();
  const heapGrowthMB = (used() - heap0) / 2 ** 20;
  return { name, ops: i + 1, seconds, perSec: (i + 1) / seconds, heapGrowthMB, outcome: last };
}

function spaCases(): RateResult[] {
  return spaRejectCases(rate);
}

/** Ethernet + IPv4 + TCP SYN or UDP, as libpcap hands a frame over. */
function frame(src: number, dport: number, udp: boolean, at: number): Frame {
  const b = Buffer.alloc(14 + 20 + (udp ? 8 : 20));
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(b.length - 14, 16);
  b[22] = 64;
  b[23] = udp ? 17 : 6;
  b.writeUInt32BE(src >>> 0, 26);
  b.writeUInt32BE(0x0a000001, 30);
  b.writeUInt16BE(40000, 34);
  b.writeUInt16BE(dport, 36);
  if (udp) b.writeUInt16BE(8, 38);
  else {
    b[46] = 0x50;
    b[47] = 0x02;
  }
  return { linkType: LinkType.ethernet, data: b, at, ifname: 'eth0' };
}

function engineCases(): RateResult[] {
  const cfg = loadConfigText('table: b\ndoors:\n  ssh:\n    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]\n    seq_timeout: 60\n    open: ["22/tcp"]\n').config;
  const at = Date.now();
  const base = 0xac100000; // 172.16.0.0
  const full: Frame[] = [];
  for (let s = 0; s < 20000; s++) full.push(frame(base + s, 7000, false, at), frame(base + s, 8000, false, at), frame(base + s, 9000, true, at));
  const firsts: Frame[] = [];
  for (let s = 0; s < 300000; s++) firsts.push(frame(base + s, 7000, false, at));
  const run = (name: string, frames: Frame[]): RateResult => {
    const engine = KnockEngine.fromConfig(cfg, { isLocal: () => true });
    const dups = new DuplicateFilter();
    let now = 0;
    return rate(name, (i) => {
      const frame = frames[i % frames.length] as Frame;
      if (dups.isDuplicate(frame)) return 'duplicate';
      const d = decodeFrame(frame);
      if (!d.ok) return d.reason;
      const out = engine.onKnock(d.value, (now += 0.001));
      return out.length ? (out[0] as { type: string }).type : 'none';
    });
  };
  return [
    run('decode + engine, full sequences (20k sources x 3 knocks)', full),
    run('decode + engine, first knocks from 300k distinct sources (table full at 100k: evictions)', firsts),
  ];
}

const spa = spaCases();
const engine = engineCases();
process.stdout.write(`${JSON.stringify({ spa, engine, rssMB: process.memoryUsage().rss / 2 ** 20 })}\n`);
