/**
 * Warnings about the host a config runs on, shared by the daemon and check-config: interfaces that
 * do not exist (yet: ppp, wg and VLAN interfaces appear later, so never an error) and secrets that
 * group or others can read. Pure over the probe the caller hands in.
 */
import type { ConfigIssue } from '../core';
import { formatPath, type Config } from '../config';

/** What the warnings look at on the host; each member optional (absent = not checked). */
export interface RuntimeProbe {
  /** Whether a network interface of this name exists now. */
  interfaceExists?(name: string): boolean;
  /** Permission bits of a file, or undefined when it cannot be stat'ed. */
  modeOf?(path: string): number | undefined;
  /** The config file the config was read from, when there is one. */
  readonly configFile?: string;
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

export function runtimeWarnings(cfg: Config, probe: RuntimeProbe): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (probe.interfaceExists) {
    const check = (names: readonly string[] | undefined, segs: (string | number)[]): void => {
      (names ?? []).forEach((n, i) => {
        if (n !== 'any' && !probe.interfaceExists?.(n)) out.push({ path: formatPath([...segs, i]), message: `no interface "${n}" exists now; it is used once it appears (check the name if it never will)` });
      });
    };
    check(cfg.interfaces, ['interfaces']);
    for (const d of cfg.doors) check(d.interfaces, ['doors', d.name, 'interfaces']);
  }
  if (probe.modeOf) {
    const mode = probe.configFile !== undefined ? probe.modeOf(probe.configFile) : undefined;
    // Shared keys (aead clients, fwknop stanzas) are secrets; Ed25519 public keys are not.
    const secretKeys = cfg.doors.some((d) => d.kind === 'spa' && (d.spa.clients.some((c) => c.type !== 'ed25519') || (d.spa.fwknop?.length ?? 0) > 0));
    if (mode !== undefined && secretKeys && (mode & 0o077) !== 0) {
      out.push({ path: '', message: `${probe.configFile} holds SPA keys and group or others can read it (mode ${octal(mode)}): run chmod 600 ${probe.configFile}` });
    }
    for (const d of cfg.doors) {
      if (d.kind !== 'knock') continue;
      const files: [string, (string | number)[]][] = [];
      if (d.sequence.type === 'rotate') files.push([d.sequence.secretFile, ['doors', d.name, 'sequence', 'rotate', 'secret_file']]);
      if (d.oneTimeFile !== undefined) files.push([d.oneTimeFile, ['doors', d.name, 'one_time_sequences']]);
      for (const [f, segs] of files) {
        const m = probe.modeOf(f);
        if (m !== undefined && (m & 0o077) !== 0) out.push({ path: formatPath(segs), message: `${f} is secret and group or others can read it (mode ${octal(m)}): run chmod 600 ${f}` });
      }
    }
  }
  return out;
}
