/** Durations on the command line: the config's syntax (`90`, `30s`, `1h30m`), with the option's bounds. */
import { DURATION_HINT, UsageError, formatDuration, parseDuration } from '../core';

/**
 * Parse `value` of option `flag` (e.g. `--timeout`) to whole seconds within [min, max]; a UsageError
 * naming the option, the bad value and the expected form otherwise.
 */
export function parseDurationArg(flag: string, value: string, bounds: { min: number; max?: number }): number {
  const sec = parseDuration(value);
  if (sec === undefined) throw new UsageError(`${flag} ${JSON.stringify(value)}: not ${DURATION_HINT}`);
  const range = bounds.max === undefined ? `at least ${formatDuration(bounds.min)}` : `from ${formatDuration(bounds.min)} to ${formatDuration(bounds.max)}`;
  if (sec < bounds.min || (bounds.max !== undefined && sec > bounds.max)) throw new UsageError(`${flag} ${JSON.stringify(value)}: need a duration ${range}`);
  return sec;
}
