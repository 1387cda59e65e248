/** Config: text → parsed → schema-validated → normalized. No file system here; callers pass text. */
import { ConfigError, type ConfigIssue } from '../core';
import type { Config, LoadedConfig } from './types';
import { parseConfigText } from './parse';
import { validateConfigData, toIssues, parsePath } from './validate';
import { normalizeConfig } from './normalize';
import { collectSecrets, redactIssues } from './redact';

export * from './types';
export { formatPath, parsePath } from './validate';
export { normalizeConfig, normalizeCommand } from './normalize';
export { collectSecrets, redactIssues, redactText, REDACTED } from './redact';
export { localTargetIssues } from './services';

/** Everything known about a config text, valid or not: what `check-config` reports in one go. */
export interface ConfigInspection {
  /** Set when there is no issue. */
  readonly config?: Config;
  /** The normalized config even when some checks failed (best effort on schema-invalid data), for further checks. */
  readonly partial?: Config;
  /** Every problem found, secrets redacted, each with its line when known. */
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly ConfigIssue[];
  /** Line of a path (`doors.ssh.sequence.rotate.secret_file`) in the text, for later checks. */
  readonly lineOf: (path: string) => number | undefined;
  /** Key material in the text, to redact from any later message. */
  readonly secrets: readonly string[];
}

const related = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`) || b.startsWith(`${a}.`) || b.startsWith(`${a}[`) || a === '' || b === '';

/**
 * Check a config text completely: parse errors, then every schema problem together with every problem
 * normalization finds elsewhere (a path the schema already faulted is not reported twice). Never
 * throws for bad input.
 */
export function inspectConfigText(text: string): ConfigInspection {
  const parsed = parseConfigText(text);
  if (!parsed.ok) return { issues: parsed.issues, warnings: [], lineOf: () => undefined, secrets: [] };
  const { data, lineOf: lineOfSegs } = parsed.parsed;
  const lineOf = (path: string): number | undefined => lineOfSegs(parsePath(path));
  const secrets = collectSecrets(data);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { issues: [{ path: '', message: 'the config must be a mapping of keys (table, base, doors, ...)' }], warnings: [], lineOf, secrets };
  }
  const schemaIssues = toIssues(validateConfigData(data), lineOfSegs);
  let n: ReturnType<typeof normalizeConfig> | undefined;
  try {
    n = normalizeConfig(data as Record<string, unknown>);
  } catch (e) {
    // Normalization expects schema-valid data; on invalid data it may trip over a wrong type.
    if (schemaIssues.length === 0) throw e;
  }
  const normIssues = toIssues(n?.issues ?? [], lineOfSegs).filter((i) => !schemaIssues.some((s) => related(s.path, i.path)));
  const issues = redactIssues([...schemaIssues, ...normIssues], secrets);
  const warnings = redactIssues(toIssues(n?.warnings ?? [], lineOfSegs), secrets);
  const partial = n?.partial;
  return { ...(issues.length === 0 && n?.config ? { config: n.config } : {}), ...(partial ? { partial } : {}), issues, warnings, lineOf, secrets };
}

/**
 * Load a config from its text. Throws ConfigError with every issue (path, reason, line) when invalid.
 * `file` only labels messages.
 */
export function loadConfigText(text: string, file?: string): LoadedConfig {
  const r = inspectConfigText(text);
  if (!r.config) throw new ConfigError(r.issues, file);
  return { config: r.config, warnings: r.warnings };
}
