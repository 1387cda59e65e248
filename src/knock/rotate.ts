/**
 * Time-based knock sequences: both ends derive the sequence of step `counter` from a shared secret.
 *
 * Byte stream: block 0 = HMAC-SHA256(secret, LABEL || u64be(counter)); when more bytes are needed,
 * block i = HMAC-SHA256(secret, LABEL || u64be(counter) || u32be(i)) for i = 1, 2, ... Bytes are read in order.
 * Each step: a port from two bytes (big-endian u16) by rejection sampling into [portLow, portHigh],
 * drawn again while it equals an earlier step's port; then, only when there are several protocols, a
 * protocol from one byte by rejection sampling. No modulo bias anywhere.
 */
import { createHmac } from 'node:crypto';
import { type KnockStep, type Outcome, type Proto, ok, reject } from '../core';
import type { RotatingSequence } from '../config';
import type { Sequence, SequenceSource } from './types';

/** Domain separation: these MACs mean "knock sequence, version 1" and nothing else. */
export const ROTATE_LABEL = 'nftknock/knock-rotate/v1\0';

export type RotateParams = Pick<RotatingSequence, 'length' | 'portLow' | 'portHigh' | 'protocols'>;

export const MIN_SECRET_BYTES = 16;

/** The step number at wall-clock `nowMs`: whole `stepSec` periods since the epoch. */
export function stepCounter(nowMs: number, stepSec: number): number {
  return Math.floor(nowMs / (stepSec * 1000));
}

class ByteStream {
  private block = 0;
  private buf: Uint8Array;
  private off = 0;
  private readonly msg: Buffer;
  constructor(private readonly secret: Uint8Array, counter: number) {
    const ctr = Buffer.alloc(8);
    ctr.writeBigUInt64BE(BigInt(counter));
    this.msg = Buffer.concat([Buffer.from(ROTATE_LABEL, 'latin1'), ctr]);
    this.buf = createHmac('sha256', secret).update(this.msg).digest();
  }
  byte(): number {
    if (this.off === this.buf.length) {
      const idx = Buffer.alloc(4);
      idx.writeUInt32BE(++this.block);
      this.buf = createHmac('sha256', this.secret).update(this.msg).update(idx).digest();
      this.off = 0;
    }
    return this.buf[this.off++] as number;
  }
  /** Uniform in [0, n), n <= 65536. */
  below(n: number, bytes: 1 | 2): number {
    const space = bytes === 2 ? 65536 : 256;
    const limit = space - (space % n);
    for (;;) {
      const x = bytes === 2 ? (this.byte() << 8) | this.byte() : this.byte();
      if (x < limit) return x % n;
    }
  }
}

/** The sequence of step `counter`. Throws RangeError on impossible parameters (a bug, not input). */
export function deriveSequence(secret: Uint8Array, counter: number, spec: RotateParams): KnockStep[] {
  const span = spec.portHigh - spec.portLow + 1;
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`counter must be a non-negative integer, not ${counter}`);
  if (!(spec.portLow >= 1 && spec.portHigh <= 65535 && span >= spec.length && spec.length >= 1)) {
    throw new RangeError(`cannot draw ${spec.length} distinct ports from ${spec.portLow}-${spec.portHigh}`);
  }
  if (spec.protocols.length === 0) throw new RangeError('no protocols to draw from');
  const s = new ByteStream(secret, counter);
  const used = new Set<number>();
  const out: KnockStep[] = [];
  while (out.length < spec.length) {
    const port = spec.portLow + s.below(span, 2);
    if (used.has(port)) continue;
    used.add(port);
    const proto: Proto = spec.protocols.length === 1 ? (spec.protocols[0] as Proto) : (spec.protocols[s.below(spec.protocols.length, 1)] as Proto);
    out.push({ port, proto });
  }
  return out;
}

/**
 * A secret file's content: `base64:` followed by base64 (surrounding white space ignored), or raw
 * bytes taken exactly as they are. At least 16 bytes either way.
 */
export function parseSecret(text: string | Uint8Array): Outcome<Uint8Array> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
  const asText = bytes.toString('latin1').trim();
  let secret: Uint8Array = new Uint8Array(bytes);
  if (asText.startsWith('base64:')) {
    const b64 = asText.slice('base64:'.length);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return reject('bad-secret', 'text after "base64:" is not base64');
    secret = new Uint8Array(Buffer.from(b64, 'base64'));
  }
  if (secret.length < MIN_SECRET_BYTES) return reject('short-secret', `secret has ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
  return ok(secret);
}

/**
 * The engine's view of a rotating door: the sequences of the current and the previous step (clock
 * skew and knocks that straddle a step boundary), derived once per step. Every port of the range with
 * one of the protocols counts as a knock, so a guess in the range breaks an attempt.
 */
export function rotatingSource(secret: Uint8Array, spec: RotateParams & Pick<RotatingSequence, 'stepSec'>): SequenceSource {
  let counter = -1;
  let current: readonly Sequence[] = [];
  return {
    sequences(atMs: number): readonly Sequence[] {
      const c = Math.max(0, stepCounter(atMs, spec.stepSec));
      if (c !== counter) {
        const prev = c === counter + 1 ? current[0] : c > 0 ? deriveSequence(secret, c - 1, spec) : undefined;
        current = prev ? [deriveSequence(secret, c, spec), prev] : [deriveSequence(secret, c, spec)];
        counter = c;
      }
      return current;
    },
    covers(step: KnockStep): boolean {
      return step.port >= spec.portLow && step.port <= spec.portHigh && spec.protocols.includes(step.proto);
    },
    /** Debug: a knock that starts the sequence of a nearby step that is not accepted now. */
    explain(step: KnockStep, atMs: number): { reason: 'rotation-step'; detail: string } | undefined {
      const c = Math.max(0, stepCounter(atMs, spec.stepSec));
      for (const delta of [-2, -3, 1, 2]) {
        if (c + delta < 0) continue;
        const first = deriveSequence(secret, c + delta, spec)[0] as KnockStep;
        if (first.port === step.port && first.proto === step.proto) {
          const when = delta < 0 ? `${-delta} steps old (only the current and the previous step are accepted)` : `${delta} step${delta > 1 ? 's' : ''} ahead`;
          return { reason: 'rotation-step', detail: `${step.port}/${step.proto} starts the sequence of a step ${when}: check the client's clock` };
        }
      }
      return undefined;
    },
  };
}
