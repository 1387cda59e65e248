/**
 * docs/configuration.md documents every key of schemas/config.schema.json, and nothing the schema no
 * longer has. Keys are found by walking `properties`, `additionalProperties` (a `<name>` segment),
 * `oneOf`/`anyOf`/`allOf`/`then`/`else` branches and `items`, following `$ref`s into `definitions`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../../../..');
const schema = JSON.parse(readFileSync(resolve(REPO, 'schemas/config.schema.json'), 'utf8')) as Schema;
const doc = readFileSync(resolve(REPO, 'docs/configuration.md'), 'utf8');

interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  then?: Schema;
  else?: Schema;
  items?: Schema;
  definitions?: Record<string, Schema>;
}

function deref(n: Schema, seen: string[] = []): Schema {
  if (!n.$ref) return n;
  const m = /^#\/definitions\/(.+)$/.exec(n.$ref);
  assert.ok(m, `unsupported $ref ${n.$ref}`);
  assert.ok(!seen.includes(n.$ref), `recursive $ref ${n.$ref}`);
  const target = schema.definitions?.[m[1] as string];
  assert.ok(target, `dangling $ref ${n.$ref}`);
  return deref(target, [...seen, n.$ref]);
}

/** Every documented-worthy key path, e.g. `doors.<name>.spa.clients.<name>.key`. */
export function schemaKeys(root: Schema): string[] {
  const out = new Set<string>();
  const walk = (node: Schema, prefix: string): void => {
    const n = deref(node);
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      walk(v, p);
    }
    if (n.additionalProperties && typeof n.additionalProperties === 'object') {
      const p = `${prefix}.<name>`;
      out.add(p);
      walk(n.additionalProperties, p);
    }
    for (const b of [...(n.oneOf ?? []), ...(n.anyOf ?? []), ...(n.allOf ?? []), ...(n.then ? [n.then] : []), ...(n.else ? [n.else] : [])]) walk(b, prefix);
    if (n.items) walk(n.items, prefix);
  };
  walk(root, '');
  return [...out];
}

/** Reference entries: `### \`key\`` headings, each with the text up to the next heading. */
function docSections(text: string): Map<string, string> {
  const ref = text.slice(text.indexOf('\n## Reference'));
  assert.ok(ref.length > 20, 'docs/configuration.md has a "## Reference" section');
  const map = new Map<string, string>();
  const parts = ref.split(/^### `([^`]+)`[ \t]*$/m);
  for (let i = 1; i < parts.length; i += 2) map.set(parts[i] as string, parts[i + 1] as string);
  return map;
}

const keys = schemaKeys(schema);
const sections = docSections(doc);

test('the schema walk finds keys at every depth (the walker itself works)', () => {
  for (const k of ['table', 'base.allow_from', 'metrics.listen', 'doors.<name>.sequence.rotate.secret_file', 'doors.<name>.spa.nat_prefix.ipv6', 'doors.<name>.spa.clients.<name>.public_key']) {
    assert.ok(keys.includes(k), `walker missed ${k}`);
  }
});

test('every schema key is documented in docs/configuration.md', () => {
  const missing = keys.filter((k) => !sections.has(k));
  assert.deepEqual(missing, [], `add a "### \`KEY\`" entry to docs/configuration.md for: ${missing.join(', ')}`);
});

test('every documented key still exists in the schema', () => {
  const stale = [...sections.keys()].filter((k) => !keys.includes(k));
  assert.deepEqual(stale, [], `docs/configuration.md documents keys the schema no longer has: ${stale.join(', ')}`);
});

test('every entry gives a type, a default and a YAML example', () => {
  const bad: string[] = [];
  for (const [k, body] of sections) {
    if (!/^- \*\*Type\*\*: \S/m.test(body)) bad.push(`${k}: no "- **Type**:" line`);
    if (!/^- \*\*Default\*\*: \S/m.test(body)) bad.push(`${k}: no "- **Default**:" line`);
    if (!/```yaml\n[\s\S]+?\n```/.test(body)) bad.push(`${k}: no yaml example`);
  }
  assert.deepEqual(bad, []);
});

test('documented defaults match the schema\'s', () => {
  const bad: string[] = [];
  for (const [k, body] of sections) {
    let node: Schema & { default?: unknown } = schema;
    const segs = k.split('.');
    // Resolve the key's own schema (merging the use site's default, as the walker's deref does not).
    const find = (n: Schema, i: number): (Schema & { default?: unknown }) | undefined => {
      const d = deref(n);
      if (i === segs.length) return n;
      const seg = segs[i] as string;
      const next = seg === '<name>' ? (typeof d.additionalProperties === 'object' ? d.additionalProperties : undefined) : d.properties?.[seg];
      const found = next ? find(next, i + 1) : undefined;
      if (found) return found;
      for (const b of [...(d.oneOf ?? []), ...(d.anyOf ?? []), ...(d.then ? [d.then] : []), ...(d.else ? [d.else] : [])]) {
        const r = find(b, i);
        if (r) return r;
      }
      return undefined;
    };
    node = find(schema, 0) ?? {};
    const def = node.default ?? (deref(node) as { default?: unknown }).default;
    const shown = /^- \*\*Default\*\*: `(.+)`$/m.exec(body)?.[1];
    if (def !== undefined && shown !== JSON.stringify(def)) bad.push(`${k}: documented ${shown ?? '(none)'}, schema ${JSON.stringify(def)}`);
    if (def === undefined && shown !== undefined) bad.push(`${k}: documents default ${shown}, schema has none`);
  }
  assert.deepEqual(bad, []);
});
