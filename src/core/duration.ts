/**
 * The one duration syntax of nftknock, for the config, client.yaml and every command-line option:
 * whole seconds (`90`, or the number 90), or one or more `<digits><unit>` parts with units d, h, m, s
 * in that order, each at most once (`30s`, `5m`, `1h30m`, `1d12h`). No spaces, signs or fractions.
 * `formatDuration` writes the same syntax, so a duration printed by `status` can be pasted back.
 */

const UNIT: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/**
 * The schema's pattern for duration strings (schemas/*.schema.json). A unit test checks that it and
 * `parseDuration` accept exactly the same strings.
 */
export const DURATION_PATTERN = '^([0-9]+|(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$';

const DURATION_RE = /^(?:([0-9]+)|(?=[0-9])(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?)$/;

/** The expected form, in words, for error messages. */
export const DURATION_HINT = 'a duration: seconds, or numbers with d, h, m, s in that order (e.g. 90, 30s, 5m, 1h30m)';

/** Parse a duration to whole seconds, or undefined when malformed or beyond a safe integer. */
export function parseDuration(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  const m = DURATION_RE.exec(v);
  if (!m) return undefined;
  if (m[1] !== undefined) return safe(Number(m[1]));
  let total = 0;
  const units = ['d', 'h', 'm', 's'] as const;
  units.forEach((u, i) => {
    const part = m[i + 2];
    if (part !== undefined) total += Number(part) * (UNIT[u] as number);
  });
  return safe(total);
}

function safe(n: number): number | undefined {
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `90` → `1m30s`, `3600` → `1h`, `0` → `0s`: readable, and accepted by `parseDuration`. */
export function formatDuration(sec: number): string {
  let s = Math.max(0, Math.floor(sec));
  if (s < 60) return `${s}s`;
  const parts: string[] = [];
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${u}`);
      s %= n;
    }
  }
  if (s) parts.push(`${s}s`);
  return parts.join('');
}
