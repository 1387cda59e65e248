/**
 * Seeded mutation for the fuzz runner: a PRNG and byte/text mutators in the style of AFL's havoc
 * stage (bit flips, interesting values, block insert/delete/duplicate, splices with other corpus
 * entries). Deterministic: the same seed gives the same sequence of inputs.
 */
import { seeded, type Rng } from '../support/prng';

export type { Rng };

/** The shared seeded generator (test/support/prng.ts). */
export const rngOf = seeded;

export const int = (r: Rng, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)] as T;

/** Values that hit boundaries in length and offset fields. */
const INTERESTING8 = [0x00, 0x01, 0x04, 0x05, 0x06, 0x0f, 0x10, 0x11, 0x3a, 0x40, 0x45, 0x60, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING16 = [0x0000, 0x0001, 0x0008, 0x0014, 0x0028, 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x7fff, 0x8000, 0xfffe, 0xffff];

function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

/** One to eight stacked byte mutations of `src` (never modified); `others` feed splices. */
export function mutateBytes(r: Rng, src: Uint8Array, others: readonly Uint8Array[] = [], maxLen = 4096): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const rounds = 1 + int(r, 8);
  for (let k = 0; k < rounds; k++) {
    const n = b.length;
    const at = n ? int(r, n) : 0;
    switch (int(r, 11)) {
      case 0: if (n) b[at] = (b[at] as number) ^ (1 << int(r, 8)); break;
      case 1: if (n) b[at] = int(r, 256); break;
      case 2: if (n) b[at] = pick(r, INTERESTING8); break;
      case 3: if (n > 1) { const v = pick(r, INTERESTING16); const i = int(r, n - 1); b[i] = v >> 8; b[i + 1] = v & 255; } break;
      case 4: if (n) b[at] = ((b[at] as number) + int(r, 70) - 35) & 255; break;
      case 5: b = b.slice(0, int(r, n + 1)); break;
      case 6: { const len = Math.min(n - at, 1 + int(r, 32)); b = concat(b.subarray(0, at), b.subarray(at + len)); break; }
      case 7: { const ins = randomBytes(r, 1 + int(r, 32)); b = concat(b.subarray(0, at), ins, b.subarray(at)); break; }
      case 8: { const len = Math.min(n - at, 1 + int(r, 64)); b = concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)); break; }
      case 9: if (others.length) { const o = pick(r, others); const cut = int(r, o.length + 1); b = concat(b.subarray(0, at), o.subarray(cut)); } break;
      default: if (n) { const len = Math.min(n - at, 1 + int(r, 16)); b.fill(pick(r, [0, 0xff]), at, at + len); }
    }
  }
  return b.length > maxLen ? b.slice(0, maxLen) : b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Pure garbage, sometimes very short, sometimes long. */
export function garbage(r: Rng, maxLen = 2048): Uint8Array {
  return randomBytes(r, int(r, 4) === 0 ? int(r, 64) : int(r, maxLen));
}

/** Tokens that stress a YAML/JSON loader and the schema/normalizer behind it. */
const TEXT_TOKENS = [
  '\n', ' ', '  ', '\t', ':', ': ', '- ', '[', ']', '{', '}', ',', '"', "'", '#', '&a ', '*a', '<<: *a', '!!binary ', '!!str ', '!!int ', '!!float ',
  '!!set ', '!!omap ', '? ', '|', '>', '---\n', '...\n', '%YAML 1.2\n', '~', 'null', 'true', 'no', '0x1F', '0o17', '-1', '0', '65535', '65536', '1e999',
  '.nan', '.inf', '-.inf', '99999999999999999999', '1.5', '"30s"', '"5m"', '"0s"', '"-5s"', '"1h"', '"9999999999d"', '__proto__', 'constructor',
  'prototype', 'toString', '\u0000', '\u2028', '\ufeff', 'é', '::1', '10.0.0.1/33', 'fd00::/129', '22/tcp', '22/sctp', '7000:udp', '0:tcp',
  'base64:', 'base64:AAAA', 'ed25519:', 'hex:zz',
];

/** Text mutations at the character, token and line level. */
export function mutateText(r: Rng, src: string, others: readonly string[] = [], maxLen = 16384): string {
  let s = src;
  const rounds = 1 + int(r, 6);
  for (let k = 0; k < rounds; k++) {
    const at = int(r, s.length + 1);
    switch (int(r, 9)) {
      case 0: s = s.slice(0, at) + pick(r, TEXT_TOKENS) + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + int(r, 8)); break;
      case 2: s = s.slice(0, at) + String.fromCharCode(int(r, 128)) + s.slice(at + 1); break;
      case 3: {
        const lines = s.split('\n');
        const i = int(r, lines.length);
        const j = int(r, lines.length);
        [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
        s = lines.join('\n');
        break;
      }
      case 4: {
        const lines = s.split('\n');
        const i = int(r, lines.length);
        lines.splice(i, 0, lines[int(r, lines.length)] as string);
        s = lines.join('\n');
        break;
      }
      case 5: {
        const lines = s.split('\n');
        lines.splice(int(r, lines.length), 1);
        s = lines.join('\n');
        break;
      }
      case 6: s = s.replace(/\b\d+\b/, () => pick(r, ['0', '-1', '65536', '4294967296', '1e400', '99999999999999999999', '0.5', '1_000'])); break;
      case 7: if (others.length) { const o = pick(r, others); s = s.slice(0, at) + o.slice(int(r, o.length + 1)); } break;
      default: s = s.slice(0, at) + ' '.repeat(int(r, 6)) + s.slice(at);
    }
  }
  return s.length > maxLen ? s.slice(0, maxLen) : s;
}
