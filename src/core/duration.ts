/** Durations in config: plain seconds (`30`) or a number with a unit (`30s`, `5m`, `2h`, `1d`). */

const UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Pattern the schema uses for duration strings; kept here so the schema test can compare. */
export const DURATION_PATTERN = '^[0-9]+(s|m|h|d)?$';

/** Parse a duration to whole seconds, or undefined when malformed. */
export function parseDuration(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  const m = /^([0-9]+)(s|m|h|d)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (UNIT[m[2] ?? ''] as number);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `90` → `1m30s`, for people. */
export function formatDuration(sec: number): string {
  if (sec < 60) return `${sec}s`;
  const parts: string[] = [];
  let s = Math.floor(sec);
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${u}`);
      s %= n;
    }
  }
  if (s) parts.push(`${s}s`);
  return parts.join('');
}
