/**
 * One-time sequences (knockd's `one_time_sequences`): a file of sequences, each valid once.
 *
 * knockd marks a used line by writing `#` over its first character, which edits the operator's file.
 * We leave that file alone and keep what was used in our own append-only record in `state_dir`: one
 * line per used sequence, the hex SHA-256 of (label, canonical sequence). The key depends on the
 * sequence alone, not on the door's name or the file's: renaming a door, moving or reordering the
 * file, or adding lines to it never makes a used sequence valid again. A torn last line from a crash
 * is skipped on reading; its sequence would be valid once more, never less. Messages about the file
 * never quote its content: the sequences are secrets.
 */
import { createHash } from 'node:crypto';
import { type KnockStep, formatKnockStep, parseKnockStep } from '../core';
import { type Sequence, type SequenceSource, stepKey } from './types';

/** A sequence of the file with its 1-based line number. */
export interface OneTimeLine {
  readonly line: number;
  readonly steps: Sequence;
}

export interface OneTimeIssue {
  readonly line: number;
  readonly message: string;
}

export const ONE_TIME_LABEL = 'nftknock/one-time/v2\0';

/**
 * Parse a one-time sequences file: one sequence per line, knocks `PORT[:PROTO]` separated by commas
 * and/or white space, `#` starts a comment (so lines knockd has used stay used). Every problem is
 * reported, with its line; a sequence that appears twice is a problem (both would be spent at once).
 */
export function parseOneTimeSequences(text: string): { sequences: OneTimeLine[]; issues: OneTimeIssue[] } {
  const sequences: OneTimeLine[] = [];
  const issues: OneTimeIssue[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/#.*$/, '').trim();
    if (body === '') return;
    const tokens = body.split(/[\s,]+/).filter(Boolean);
    const steps: KnockStep[] = [];
    tokens.forEach((token, k) => {
      const r = parseKnockStep(token);
      if (r.ok) steps.push(r.value);
      else issues.push({ line, message: `knock ${k + 1} is not PORT[:PROTO] with PORT 1-65535 and PROTO tcp or udp` });
    });
    if (steps.length !== tokens.length) return;
    const canon = canonical(steps);
    const first = seen.get(canon);
    if (first !== undefined) issues.push({ line, message: `is the same sequence as line ${first}; each sequence is valid once, list it once` });
    else {
      seen.set(canon, line);
      sequences.push({ line, steps });
    }
  });
  return { sequences, issues };
}

/** The canonical text of a sequence (`7000:tcp,8000:udp`), the same for every way of writing it. */
export function canonicalSequence(seq: Sequence): string {
  return canonical(seq);
}

function canonical(seq: Sequence): string {
  return seq.map(formatKnockStep).join(',');
}

/** The record key of `seq`: 64 hex digits, a function of the sequence alone. */
export function consumedKey(seq: Sequence): string {
  return createHash('sha256').update(ONE_TIME_LABEL).update(canonical(seq)).digest('hex');
}

/** The line to append to the record when `seq` is used. */
export function formatConsumed(seq: Sequence): string {
  return `${consumedKey(seq)}\n`;
}

/** Read the consumed file. Lines that are not 64 hex digits (a torn write) are counted, not fatal. */
export function parseConsumed(text: string): { keys: Set<string>; skipped: number } {
  const keys = new Set<string>();
  let skipped = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (/^[0-9a-f]{64}$/.test(line)) keys.add(line);
    else skipped++;
  }
  return { keys, skipped };
}

/**
 * The engine's view of a door's one-time sequences: those not yet consumed. `consume` (called by the
 * engine on success) spends a sequence in memory; the daemon appends `formatConsumed` to make it last.
 */
export class OneTimeSource implements SequenceSource {
  private readonly consumed: Set<string>;
  private readonly stepKeys = new Set<number>();
  private readonly keyed: readonly { readonly key: string; readonly steps: Sequence; readonly line: number }[];
  private valid: readonly Sequence[] = [];

  constructor(readonly door: string, lines: readonly OneTimeLine[], consumed: ReadonlySet<string>) {
    this.consumed = new Set(consumed);
    for (const l of lines) for (const s of l.steps) this.stepKeys.add(stepKey(s.port, s.proto));
    this.keyed = lines.map((l) => ({ key: consumedKey(l.steps), steps: l.steps, line: l.line }));
    this.refresh();
  }

  /** Debug: a knock that starts only sequences used already. */
  explain(step: KnockStep): { reason: 'used-one-time'; detail: string } | undefined {
    const used = this.keyed.find((l) => this.consumed.has(l.key) && l.steps[0]?.port === step.port && l.steps[0]?.proto === step.proto);
    return used ? { reason: 'used-one-time', detail: `${step.port}/${step.proto} starts a sequence used already (line ${used.line})` } : undefined;
  }

  /** Sequences still valid, in file order. */
  sequences(): readonly Sequence[] {
    return this.valid;
  }

  get remaining(): number {
    return this.valid.length;
  }

  /** Every knock of every line counts, used or not: a used sequence knocked again is a wrong knock. */
  covers(step: KnockStep): boolean {
    return this.stepKeys.has(stepKey(step.port, step.proto));
  }

  consume(seq: Sequence): void {
    this.consumed.add(consumedKey(seq));
    this.refresh();
  }

  private refresh(): void {
    this.valid = this.keyed.filter((l) => !this.consumed.has(l.key)).map((l) => l.steps);
  }
}
