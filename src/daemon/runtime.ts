/**
 * What the daemon runs for one config: the knock engine, the SPA doors by port, the capture filter.
 * Built completely (files read, secrets parsed) before it replaces the running one, so a reload that
 * fails leaves the old runtime in place.
 */
import { ConfigError, type ConfigIssue, type PortSpec } from '../core';
import type { Config, KnockDoor, SpaDoor } from '../config';
import { KnockEngine, OneTimeSource, parseConsumed, parseOneTimeSequences, parseSecret, rotatingSource, type SequenceSource } from '../knock';
import { keyringFor, type SpaIdentity, type SpaKeyring } from '../spa';
import { buildCaptureFilter, captureSpecFromConfig } from '../packet';

export interface SpaEndpoint {
  readonly door: SpaDoor;
  readonly keyring: SpaKeyring;
}

export interface Runtime {
  readonly cfg: Config;
  readonly engine: KnockEngine;
  readonly spaByPort: ReadonlyMap<number, SpaEndpoint>;
  readonly oneTime: ReadonlyMap<string, OneTimeSource>;
  readonly filter: string;
  /** Longest SPA window in ms (the replay cache must keep nonces at least this long). */
  readonly spaWindowMs: number;
}

export interface RuntimeFiles {
  /** Read a file named in the config (rotating secret, one-time sequences); throws with a clear message. */
  readFile(path: string): Promise<Uint8Array>;
  /** The consumed one-time sequences state of a door (text), or undefined. */
  readConsumed(door: string): Promise<string | undefined>;
  /** This server's SPA identity (state_dir/spa-identity); needed when a door is an SPA door. */
  readonly spaIdentity?: SpaIdentity;
}

export function consumedFileOf(door: string): string {
  return `onetime-${door}.consumed`;
}

async function sourceFor(d: KnockDoor, files: RuntimeFiles, issues: ConfigIssue[], extra: PortSpec[]): Promise<SequenceSource | undefined> {
  const at = (key: string) => `doors.${d.name}.${key}`;
  if (d.sequence.type === 'rotate') {
    const raw = await files.readFile(d.sequence.secretFile).catch((e: Error) => {
      issues.push({ path: at('sequence.rotate.secret_file'), message: e.message });
      return undefined;
    });
    if (!raw) return undefined;
    const secret = parseSecret(raw);
    if (!secret.ok) {
      issues.push({ path: at('sequence.rotate.secret_file'), message: `${d.sequence.secretFile}: ${secret.detail ?? secret.reason}` });
      return undefined;
    }
    return rotatingSource(secret.value, d.sequence);
  }
  if (d.oneTimeFile !== undefined) {
    const raw = await files.readFile(d.oneTimeFile).catch((e: Error) => {
      issues.push({ path: at('one_time_sequences'), message: e.message });
      return undefined;
    });
    if (!raw) return undefined;
    const parsed = parseOneTimeSequences(Buffer.from(raw).toString('utf8'));
    for (const i of parsed.issues) issues.push({ path: at('one_time_sequences'), message: `${d.oneTimeFile}:${i.line}: ${i.message}` });
    if (parsed.sequences.length === 0) issues.push({ path: at('one_time_sequences'), message: `${d.oneTimeFile} holds no sequence` });
    const consumed = parseConsumed((await files.readConsumed(d.name)) ?? '').keys;
    for (const l of parsed.sequences) extra.push(...l.steps);
    return new OneTimeSource(d.name, parsed.sequences, consumed);
  }
  return undefined;
}

/** Build everything the daemon needs for `cfg`, or throw a ConfigError naming each file problem. */
export async function buildRuntime(cfg: Config, files: RuntimeFiles, isLocal: (dst: string) => boolean): Promise<Runtime> {
  const issues: ConfigIssue[] = [];
  const sources = new Map<string, SequenceSource>();
  const oneTime = new Map<string, OneTimeSource>();
  const extra: PortSpec[] = [];
  for (const d of cfg.doors) {
    if (d.kind !== 'knock' || d.mode !== 'daemon') continue;
    const s = await sourceFor(d, files, issues, extra);
    if (s) sources.set(d.name, s);
    if (s instanceof OneTimeSource) oneTime.set(d.name, s);
  }
  const spaDoors = cfg.doors.filter((d): d is SpaDoor => d.kind === 'spa');
  if (spaDoors.length > 0 && !files.spaIdentity) issues.push({ path: `doors.${spaDoors[0]?.name ?? ''}.spa`, message: 'this server has no SPA identity (state_dir/spa-identity); knockctl install-ruleset or the daemon creates it' });
  if (issues.length) throw new ConfigError(issues);
  const spaByPort = new Map<number, SpaEndpoint>();
  let spaWindowMs = 0;
  for (const d of spaDoors) {
    if (!files.spaIdentity) continue;
    spaByPort.set(d.spa.port, { door: d, keyring: keyringFor(d, files.spaIdentity) });
    spaWindowMs = Math.max(spaWindowMs, d.spa.windowSec * 1000);
  }
  const engine = KnockEngine.fromConfig(cfg, { isLocal, sources });
  const filter = buildCaptureFilter(captureSpecFromConfig(cfg, extra));
  return { cfg, engine, spaByPort, oneTime, filter, spaWindowMs };
}
