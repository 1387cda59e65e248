/** Vocabulary of the knock engine: what it reports and what it is given. Pure data. */
import type { Family, KnockStep } from '../core';

/** One knock sequence, in order. */
export type Sequence = readonly KnockStep[];

/** Why an attempt ended without success. */
export type ResetReason =
  /** A knock of this host's knock ports that was not the next step. */
  | 'wrong-knock'
  /** A wrong knock that was the door's first step: the old attempt ends, a new one starts at stage 1. */
  | 'restarted'
  /** `seq_timeout` ran out (reported by `expire`, or when a late knock arrives first). */
  | 'timeout'
  /** The table was full; the oldest partial attempt made room. */
  | 'evicted';

/**
 * Why a packet did nothing (reported only by an engine built with `explain`, for debug logs, like
 * knockd -D). `not-a-knock`: no door knocks on this port/protocol. `not-first`: a knock of the door
 * that does not start its sequence, from a source with no attempt there. `interface`, `tcp-flags`,
 * `target`, `from`: the door does not see this packet (its interfaces, tcpflags, target addresses or
 * source networks). `repeated`: the last knock again (a TCP SYN retransmit), ignored. `used-one-time`:
 * the start of a one-time sequence already used. `rotation-step`: a sequence of a rotating door's
 * earlier or later step, not the current one (clock skew, or an old knock replayed).
 */
export type IgnoreReason = 'not-a-knock' | 'not-first' | 'interface' | 'tcp-flags' | 'target' | 'from' | 'repeated' | 'used-one-time' | 'rotation-step';

/** What a knock or the passing of time did to an attempt. The daemon logs and acts on these. */
export type KnockOutcome =
  | { readonly type: 'ignored'; readonly door: string | undefined; readonly src: string; readonly reason: IgnoreReason; readonly detail: string }
  | { readonly type: 'stage'; readonly door: string; readonly src: string; readonly family: Family; readonly stage: number; readonly of: number }
  | {
      readonly type: 'success';
      readonly door: string;
      readonly src: string;
      readonly family: Family;
      readonly action: 'grant' | 'revoke';
      readonly sequence: Sequence;
    }
  | { readonly type: 'reset'; readonly door: string; readonly src: string; readonly family: Family; readonly stage: number; readonly reason: ResetReason };

/**
 * Where a door's valid sequences come from when they change over time (rotating, one-time).
 * Contract: `sequences` returns the same array object for as long as the set is unchanged (the engine
 * caches per array); `covers` is stable for the life of the source; `consume` is called by the engine
 * on success, before the outcome is returned, and must make the sequence invalid from then on.
 */
export interface SequenceSource {
  /** Sequences valid for a knock captured at wall-clock `atMs` (the capture timestamp). */
  sequences(atMs: number): readonly Sequence[];
  /** True when a knock to `step` is a knock of this door at all (a wrong one breaks attempts). */
  covers(step: KnockStep): boolean;
  consume?(seq: Sequence): void;
  /** Debug only: why a knock to `step` starting no attempt is not a first knock now, when the source knows better. */
  explain?(step: KnockStep, atMs: number): { reason: IgnoreReason; detail: string } | undefined;
}

/** Engine options. `isLocal` says whether a destination is one of this host's own addresses. */
export interface KnockEngineOptions {
  /** Most partial attempts held at once (`limits.max_sources`); at least 1. */
  readonly maxSources: number;
  readonly isLocal: (dst: string) => boolean;
  /** By door name: required for rotating doors and doors with one-time sequences. */
  readonly sources?: ReadonlyMap<string, SequenceSource>;
  /** Also report packets that did nothing, with the reason (`ignored` outcomes; debug logging). */
  readonly explain?: boolean;
}

/** Running totals, for metrics. */
export interface KnockCounters {
  readonly attempts: number;
  readonly successes: number;
  readonly evicted: number;
  readonly timeouts: number;
  readonly wrong: number;
}

/** A knock as one number: `port * 2 + (udp ? 1 : 0)`; cheap to compare and to use as a Map key. */
export function stepKey(port: number, proto: 'tcp' | 'udp'): number {
  return port * 2 + (proto === 'udp' ? 1 : 0);
}
