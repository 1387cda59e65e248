/**
 * What the daemon runs for one config: the knock engine, the SPA doors by port, the capture filter.
 * Built completely (files read, secrets parsed) before it replaces the running one, so a reload that
 * fails leaves the old runtime in place. `checkRuntime` is also what `knockctl check-config` runs: the
 * daemon refuses nothing at start or reload that check-config lets through.
 */
import { ConfigError, type ConfigIssue, type PortSpec, type StateStore } from '../core';
import { formatPath, localTargetIssues, type Config, type KnockDoor } from '../config';
import { KnockEngine, OneTimeSource, canonicalSequence, parseConsumed, parseOneTimeSequences, parseSecret, rotatingSource, type SequenceSource } from '../knock';
import { generateIdentity, keyringFor, needsSpaIdentity, type SpaIdentity } from '../spa';
import { buildCaptureFilter, captureSpecFromConfig, snapLengthFor } from '../packet';
import { runtimeWarnings, type RuntimeProbe } from './runtime-warnings';
import type { Runtime, SpaEndpoint } from './runtime-types';

export type { Runtime, SpaEndpoint } from './runtime-types';
export type { RuntimeProbe } from './runtime-warnings';

export interface RuntimeFiles extends RuntimeProbe {
  /** Read a file named in the config (rotating secret, one-time sequences); throws with a clear message. */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * This server's SPA identity (state_dir/spa-identity): the daemon's loads or creates it. Called
   * only for a config with an SPA door of nftknock's format (at start, or the reload that adds the
   * first one), so a daemon without one never creates the file. Absent (check-config, tests): a
   * throwaway identity, so keys are still checked and nothing can match.
   */
  readonly spaIdentity?: () => SpaIdentity;
}

/**
 * The record of used one-time sequences in `state_dir`, shared by all doors: its keys depend on the
 * sequences alone (see knock/one-time.ts), so renaming a door keeps its used sequences used.
 */
export const ONE_TIME_RECORD = 'onetime.consumed';

type Issues = ConfigIssue[];
const at = (d: KnockDoor, ...key: string[]): string => formatPath(['doors', d.name, ...key]);

async function rotatingFor(d: KnockDoor & { sequence: { type: 'rotate' } }, files: RuntimeFiles, issues: Issues): Promise<SequenceSource | undefined> {
  const path = at(d, 'sequence', 'rotate', 'secret_file');
  const raw = await files.readFile(d.sequence.secretFile).catch((e: Error) => void issues.push({ path, message: e.message }));
  if (!raw) return undefined;
  const secret = parseSecret(raw);
  if (!secret.ok) {
    issues.push({ path, message: `${d.sequence.secretFile}: ${secret.detail ?? secret.reason}` });
    return undefined;
  }
  return rotatingSource(secret.value, d.sequence);
}

/** The used-sequence record: absent is first use; any other failure fails closed (an issue). */
async function usedRecord(cfg: Config, state: Pick<StateStore, 'read'>, issues: Issues): Promise<Set<string> | undefined> {
  const doors = cfg.doors.filter((d): d is KnockDoor => d.kind === 'knock' && d.mode === 'daemon' && d.oneTimeFile !== undefined);
  if (doors.length === 0) return new Set();
  try {
    return parseConsumed(Buffer.from((await state.read(ONE_TIME_RECORD)) ?? new Uint8Array()).toString('utf8')).keys;
  } catch (e) {
    for (const d of doors) {
      issues.push({ path: at(d, 'one_time_sequences'), message: `cannot read the record of used one-time sequences (${ONE_TIME_RECORD} in ${cfg.stateDir}): ${(e as Error).message}; refusing, or every used sequence would be valid again` });
    }
    return undefined;
  }
}

async function oneTimeFor(d: KnockDoor, files: RuntimeFiles, used: ReadonlySet<string>, seen: Map<string, string>, issues: Issues, extra: PortSpec[]): Promise<OneTimeSource | undefined> {
  const path = at(d, 'one_time_sequences');
  const file = d.oneTimeFile as string;
  const raw = await files.readFile(file).catch((e: Error) => void issues.push({ path, message: e.message }));
  if (!raw) return undefined;
  const parsed = parseOneTimeSequences(Buffer.from(raw).toString('utf8'));
  for (const i of parsed.issues) issues.push({ path, message: `${file}:${i.line}: ${i.message}` });
  if (parsed.sequences.length === 0 && parsed.issues.length === 0) issues.push({ path, message: `${file} holds no sequence` });
  for (const l of parsed.sequences) {
    const other = seen.get(canonicalSequence(l.steps));
    if (other !== undefined && other !== d.name) issues.push({ path, message: `${file}:${l.line}: is also a one-time sequence of door "${other}"; a sequence is valid once on this host` });
    seen.set(canonicalSequence(l.steps), d.name);
    extra.push(...l.steps);
  }
  return new OneTimeSource(d.name, parsed.sequences, used);
}

/**
 * Everything the daemon needs for `cfg`, with every problem of the files and state it names (as
 * config issues with their paths), and warnings (interfaces that do not exist yet, secrets that
 * group or others can read). The runtime is set only when there is no issue.
 */
export async function checkRuntime(cfg: Config, files: RuntimeFiles, state: Pick<StateStore, 'read'>, isLocal: (dst: string) => boolean): Promise<{ runtime?: Runtime; issues: ConfigIssue[]; warnings: ConfigIssue[] }> {
  const issues: Issues = [];
  const sources = new Map<string, SequenceSource>();
  const oneTime = new Map<string, OneTimeSource>();
  const extra: PortSpec[] = [];
  const used = await usedRecord(cfg, state, issues);
  const seen = new Map<string, string>();
  for (const d of cfg.doors) {
    if (d.kind !== 'knock' || d.mode !== 'daemon') continue;
    let s: SequenceSource | undefined;
    if (d.sequence.type === 'rotate') s = await rotatingFor(d as KnockDoor & { sequence: { type: 'rotate' } }, files, issues);
    else if (d.oneTimeFile !== undefined && used) s = await oneTimeFor(d, files, used, seen, issues, extra);
    if (s) sources.set(d.name, s);
    if (s instanceof OneTimeSource) oneTime.set(d.name, s);
  }
  // Router doors: a forwarded service or port forward to this host's own address would open nothing.
  issues.push(...localTargetIssues(cfg.doors, isLocal));
  const warnings = runtimeWarnings(cfg, files);
  if (issues.length) return { issues, warnings };
  const spaByPort = new Map<number, SpaEndpoint>();
  let spaWindowMs = 0;
  const identity = needsSpaIdentity(cfg.doors) ? (files.spaIdentity?.() ?? generateIdentity()) : undefined;
  for (const d of cfg.doors) {
    if (d.kind !== 'spa') continue;
    spaByPort.set(d.spa.port, d.spa.format !== 'fwknop' && identity ? { door: d, keyring: keyringFor(d, identity) } : { door: d });
    spaWindowMs = Math.max(spaWindowMs, d.spa.windowSec * 1000);
  }
  const engine = KnockEngine.fromConfig(cfg, { isLocal, sources });
  const filter = buildCaptureFilter(captureSpecFromConfig(cfg, extra));
  return { runtime: { cfg, engine, spaByPort, oneTime, filter, snapLen: snapLengthFor(cfg), spaWindowMs }, issues: [], warnings };
}

/** Build everything the daemon needs for `cfg`, or throw a ConfigError naming each problem. */
export async function buildRuntime(cfg: Config, files: RuntimeFiles, state: Pick<StateStore, 'read'>, isLocal: (dst: string) => boolean): Promise<{ runtime: Runtime; warnings: ConfigIssue[] }> {
  const r = await checkRuntime(cfg, files, state, isLocal);
  if (!r.runtime) throw new ConfigError(r.issues);
  return { runtime: r.runtime, warnings: r.warnings };
}
