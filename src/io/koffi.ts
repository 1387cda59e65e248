/**
 * koffi, loaded the light way. koffi's index.js also loads its install-time tooling (https, tls,
 * zlib, crypto: ~3 MB of an idle daemon's RSS, measured) before it loads the native module; the
 * native module alone is the whole runtime API we use. Falls back to `require('koffi')` where the
 * prebuilt binary is not at the usual place (musl, other platforms).
 */

/** What we use of koffi's API. */
export interface Koffi {
  load(name: string): { func(sig: string): ((...a: unknown[]) => unknown) & { async: (...a: unknown[]) => void } };
  proto(sig: string): unknown;
  pointer(t: unknown): unknown;
  register(fn: (...a: unknown[]) => void, type: unknown): unknown;
  unregister(cb: unknown): void;
  decode(ptr: unknown, offset: number, type: string): unknown;
  view(ptr: unknown, len: number): ArrayBuffer;
  /** errno of the calling thread, as the last foreign call left it. */
  errno(): number;
  readonly os: { readonly errno: Readonly<Record<string, number>> };
}

let cached: Koffi | undefined;

export function koffi(): Koffi {
  if (cached) return cached;
  /* eslint-disable @typescript-eslint/no-require-imports */
  try {
    const native = require(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as Koffi & { version?: string };
    const { version } = require('koffi/package.json') as { version: string };
    if (native.version !== version) throw new Error(`koffi native module ${String(native.version)} does not match koffi ${version}`);
    cached = native;
  } catch {
    cached = require('koffi') as Koffi;
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  return cached;
}
