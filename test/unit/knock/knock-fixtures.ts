/** Builders for knock tests: doors as the config normalizer makes them, and captured knocks. */
import { type Cidr, type KnockEvent, type KnockStep, parseCidr, parseKnockStep } from '../../../src/core';
import type { KnockDoor } from '../../../src/config';
import type { KnockOutcome } from '../../../src/knock';

export const HOST4 = '192.0.2.1';
export const HOST6 = '2001:db8::1';
export const isLocal = (dst: string): boolean => dst === HOST4 || dst === HOST6;

export function steps(list: readonly string[]): KnockStep[] {
  return list.map((s) => {
    const r = parseKnockStep(s);
    if (!r.ok) throw new Error(`bad step in test: ${s}`);
    return r.value;
  });
}

export function cidrs(list: readonly string[]): Cidr[] {
  return list.map((s) => parseCidr(s) ?? (() => { throw new Error(`bad cidr in test: ${s}`); })());
}

type DoorExtra = Partial<Omit<KnockDoor, 'from' | 'target'>> & { from?: string[]; target?: string[] };

/** A daemon-mode knock door: seq_timeout 10 s, tcpflags syn,!ack unless given. */
export function door(name: string, seq: readonly string[], extra: DoorExtra = {}): KnockDoor {
  const { from, target, ...rest } = extra;
  return {
    name, kind: 'knock', mode: 'daemon', action: 'grant',
    sequence: { type: 'static', steps: steps(seq) },
    seqTimeoutSec: 10, tcpFlags: { set: 0x02, unset: 0x10 },
    open: [{ kind: 'local', port: 22, proto: 'tcp' }], timeoutSec: 30, hooks: { cmdTimeoutSec: 10 },
    ...(from ? { from: cidrs(from) } : {}),
    ...(target ? { target: cidrs(target) } : {}),
    ...rest,
  };
}

export const SYN = 0x02;
export const ACK = 0x10;

export interface KnockOpts {
  flags?: number;
  dst?: string;
  ifname?: string;
  /** Wall-clock capture time (ms since the epoch). */
  at?: number;
}

/** A knock from `src` to `step` (`7000`, `7000:udp`): a SYN to this host unless told otherwise. */
export function knock(src: string, step: string, o: KnockOpts = {}): KnockEvent {
  const [s] = steps([step]) as [KnockStep];
  const family = src.includes(':') ? 6 : 4;
  return {
    family, src, dst: o.dst ?? (family === 6 ? HOST6 : HOST4), proto: s.proto, sport: 40000, dport: s.port,
    tcpFlags: s.proto === 'tcp' ? (o.flags ?? SYN) : 0, payload: new Uint8Array(0), at: o.at ?? 1_700_000_000_000,
    ...(o.ifname !== undefined ? { ifname: o.ifname } : {}),
  };
}

/** Outcomes as short text, so expected results read like a log. */
export function show(o: KnockOutcome): string {
  switch (o.type) {
    case 'stage': return `stage ${o.door} ${o.src} ${o.stage}/${o.of}`;
    case 'success': return `success ${o.door} ${o.src} ${o.action} ${o.sequence.map((s) => `${s.port}:${s.proto}`).join(',')}`;
    case 'reset': return `reset ${o.door} ${o.src} ${o.reason} at ${o.stage}`;
    case 'ignored': return `ignored ${o.door ?? '-'} ${o.src} ${o.reason} ${o.detail}`;
  }
}
