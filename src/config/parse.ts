/** Config text (YAML or JSON; JSON is YAML 1.2) → plain data plus a way to find a path's line. */
import { LineCounter, parseDocument, isMap, isSeq, isNode, type Node } from 'yaml';
import type { ConfigIssue } from '../core';

export interface ParsedText {
  readonly data: unknown;
  /** 1-based line of the value at `path` (segments as in the data), or undefined. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

export type ParseResult = { ok: true; parsed: ParsedText } | { ok: false; issues: ConfigIssue[] };

/** Parse config text. Duplicate keys (e.g. two doors with one name) are errors, with their line. */
export function parseConfigText(text: string): ParseResult {
  const lc = new LineCounter();
  // logLevel 'error': yaml would otherwise print warnings (e.g. a mapping used as a key) to stderr.
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
      const msg = e.code === 'DUPLICATE_KEY' ? `duplicate key ${quoteKeyFrom(text, e.pos[0])}(each door and key may appear once)` : e.message.split('\n')[0] ?? e.message;
      return { path: '', message: msg, line };
    });
    return { ok: false, issues };
  }
  // Some problems surface only when converting (an alias whose anchor comes later or never, too many
  // aliases): yaml throws a ReferenceError then. Found by fuzzing; report it as a config issue.
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, issues: [{ path: '', message: (e as Error).message.split('\n')[0] ?? 'cannot convert the document' }] };
  }
  const lineOf = (path: readonly (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let lastLine: number | undefined;
    for (const seg of path) {
      if (isNode(node) && (node as Node).range) lastLine = lc.linePos((node as Node).range![0]).line;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isNode(p.key) ? (p.key as { value?: unknown }).value : p.key) === seg);
        if (!pair) return lastLine;
        if (isNode(pair.key) && (pair.key as Node).range) lastLine = lc.linePos((pair.key as Node).range![0]).line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else {
        return lastLine;
      }
    }
    if (isNode(node) && (node as Node).range) return lc.linePos((node as Node).range![0]).line;
    return lastLine;
  };
  return { ok: true, parsed: { data: data ?? {}, lineOf } };
}

function quoteKeyFrom(text: string, pos: number): string {
  const m = /^[^:\n]*/.exec(text.slice(pos));
  const k = m?.[0]?.trim().replace(/^["']|["']$/g, '');
  return k ? `"${k}" ` : '';
}
