/** Config: text → parsed → schema-validated → normalized. No file system here; callers pass text. */
import { ConfigError, type ConfigIssue } from '../core';
import { parseConfigText } from './parse';
import { validateConfigData, toIssues } from './validate';
import { normalizeConfig } from './normalize';
import type { LoadedConfig } from './types';

export * from './types';
export { formatPath } from './validate';
export { normalizeCommand } from './normalize';
export { localTargetIssues } from './services';

/**
 * Load a config from its text. Throws ConfigError with every issue (path, reason, line) when invalid.
 * `file` only labels messages.
 */
export function loadConfigText(text: string, file?: string): LoadedConfig {
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new ConfigError(parsed.issues, file);
  const { data, lineOf } = parsed.parsed;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ path: '', message: 'the config must be a mapping of keys (table, base, doors, ...)' }], file);
  }
  const schemaIssues = validateConfigData(data);
  if (schemaIssues.length > 0) throw new ConfigError(toIssues(schemaIssues, lineOf), file);
  const n = normalizeConfig(data as Record<string, unknown>);
  const warnings: ConfigIssue[] = toIssues(n.warnings, lineOf);
  if (!n.config) throw new ConfigError(toIssues(n.issues, lineOf), file);
  return { config: n.config, warnings };
}
