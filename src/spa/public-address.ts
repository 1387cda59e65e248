/**
 * The answer of a "what is my address" URL (fwknop's -R): the first IPv4 or IPv6 address in the
 * body, whether the service answers with the bare address, a line of text or a small HTML page.
 */
import { parseAddr } from '../core';

export function parsePublicAddress(body: string): string | undefined {
  for (const token of body.slice(0, 4096).split(/[^0-9A-Fa-f.:]+/)) {
    if (token.length < 2) continue;
    const a = parseAddr(token.replace(/^:+(?!:)|(?<!:):+$/g, ''));
    if (a && !a.bytes.every((b) => b === 0)) return a.text;
  }
  return undefined;
}
