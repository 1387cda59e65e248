/**
 * Secrets never echoed: the values of SPA keys (`key`, `public_key`, and any other `*key*` setting
 * that is not a file name) are found in the raw config data and cut out of every issue message,
 * whichever check wrote it (schema, normalization, key-strength checks, runtime checks).
 */
import type { ConfigIssue } from '../core';

export const REDACTED = '<redacted>';

/** A setting whose value is key material: `key`, `public_key`, `hmac_key`, `key_base64`..., not `key_file`. */
function isSecretKey(name: string): boolean {
  return /key/i.test(name) && !/(file|path|type|id)$/i.test(name);
}

/** Every secret string in the raw config data (with and without its `base64:` style prefix). */
export function collectSecrets(data: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, key: string | undefined, depth: number): void => {
    if (depth > 16 || v === null || typeof v !== 'object') {
      if (typeof v === 'string' && key !== undefined && isSecretKey(key) && v.length > 0) {
        out.add(v);
        const colon = v.indexOf(':');
        if (colon >= 0 && v.length - colon > 8) out.add(v.slice(colon + 1));
      }
      return;
    }
    if (Array.isArray(v)) v.forEach((x) => walk(x, key, depth + 1));
    else for (const [k, x] of Object.entries(v)) walk(x, k, depth + 1);
  };
  walk(data, undefined, 0);
  // Longest first, so a prefixed value is cut whole before its bare base64 part.
  return [...out].sort((a, b) => b.length - a.length);
}

/** `message` with every secret cut out: quoted anywhere, bare when long enough to be unambiguous. */
export function redactText(message: string, secrets: readonly string[]): string {
  let m = message;
  for (const s of secrets) {
    m = m.split(JSON.stringify(s)).join(`"${REDACTED}"`);
    if (s.length >= 8) m = m.split(s).join(REDACTED);
  }
  return m;
}

export function redactIssues(issues: readonly ConfigIssue[], secrets: readonly string[]): ConfigIssue[] {
  if (secrets.length === 0) return [...issues];
  return issues.map((i) => ({ ...i, message: redactText(i.message, secrets) }));
}
