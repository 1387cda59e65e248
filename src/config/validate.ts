/**
 * Schema validation with ajv, and ajv's errors turned into plain sentences with a JSON path.
 * The schema marks each pattern with `x-hint` (the expected form, in words) for the messages.
 */
import type Ajv from 'ajv';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import schema from '../../schemas/config.schema.json';
import { createHash } from 'node:crypto';
import type { ConfigIssue } from '../core';

/** A validator for one of our schemas: every problem as `{segs, message}`, in plain words. */
export type Describer = (data: unknown) => { segs: (string | number)[]; message: string }[];

/** Our ajv, with the options every validator (compiled here or generated at build time) uses. */
export function newAjv(extra: Options = {}): Ajv {
  // Loaded on first use: requiring and compiling with ajv costs more than the rest of `check-config`.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: AjvClass } = require('ajv') as typeof import('ajv');
  const ajv = new AjvClass({ allErrors: true, verbose: true, strict: true, strictTuples: false, strictRequired: false, ...extra });
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
  return ajv;
}

/**
 * SHA-256 of the schema's JSON: ties a generated validator to the exact schema it was made from.
 * Native hashing on purpose: a per-character loop here ran hot enough at start-up to wake V8's
 * optimizing compiler, whose code pages then stayed in the daemon's resident memory.
 */
export function schemaKey(schemaObj: object): string {
  return createHash('sha256').update(JSON.stringify(schemaObj)).digest('hex');
}

/** Name of the validator `make build` generates for a schema (schemas/gen-validators.ts): its `$id`'s file name. */
export function generatedName(schemaObj: object): string | undefined {
  const id = (schemaObj as { $id?: unknown }).$id;
  return typeof id === 'string' ? /([A-Za-z0-9.-]+)$/.exec(id)?.[1] : undefined;
}

/**
 * The validator generated at build time for exactly this schema, if there is one: ajv's standalone
 * code, so the CLI neither loads ajv's compiler nor compiles (most of `check-config`'s start-up).
 * A stale one (schema edited, `make build` not rerun) is ignored.
 */
function generated(schemaObj: object): ValidateFunction | undefined {
  const name = generatedName(schemaObj);
  if (!name) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(`./generated/${name}.js`) as ValidateFunction & { key?: string };
    return mod.key === schemaKey(schemaObj) ? mod : undefined;
  } catch {
    return undefined;
  }
}

/** Compile `schemaObj` once (lazily) and describe its errors the way config errors are described. */
export function validatorFor(schemaObj: object): Describer {
  let compiled: ValidateFunction | undefined;
  return (data) => {
    compiled ??= generated(schemaObj) ?? newAjv().compile(schemaObj);
    return compiled(data) ? [] : describeErrors(compiled.errors ?? [], data);
  };
}

/** Path segments → `doors.ssh.sequence[1]`. */
export function formatPath(segs: readonly (string | number)[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** `doors.ssh.sequence[1]` or `doors["a b"].open` → segments: the inverse of formatPath. */
export function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([A-Za-z_][A-Za-z0-9_-]*)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path))) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else out.push(m[3] as string);
  }
  return out;
}

/** ajv's `/doors/ssh/sequence/1` → segments, with array indices as numbers. */
function segments(pointer: string, data: unknown): (string | number)[] {
  if (!pointer) return [];
  const out: (string | number)[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      out.push(Number(key));
      cur = cur[Number(key)];
    } else {
      out.push(key);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'a mapping';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a mapping',
};

function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

function hintOf(e: ErrorObject): string | undefined {
  const ps = e.parentSchema as Record<string, unknown> | undefined;
  return typeof ps?.['x-hint'] === 'string' ? (ps['x-hint'] as string) : undefined;
}

function describe(e: ErrorObject): { extra?: string; message: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys(((e.parentSchema as Record<string, unknown>)?.properties as object) ?? {});
      const guess = closest(key, known);
      return { extra: key, message: `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; known keys: ${known.join(', ')}` };
    }
    case 'required':
      return { message: `missing required key "${String(p.missingProperty)}"` };
    case 'type':
      return { message: `expected ${TYPE_WORDS[String(p.type)] ?? String(p.type)}, got ${typeName(e.data)} ${typeof e.data === 'object' ? '' : show(e.data)}`.trim() };
    case 'pattern':
    case 'oneOf': {
      const hint = hintOf(e);
      return { message: hint ? `${show(e.data)} is not ${hint}` : `${show(e.data)} is not of the expected form` };
    }
    case 'enum':
      return { message: `${show(e.data)} is not one of: ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}` };
    case 'minimum':
      return { message: `${show(e.data)} is below the minimum ${String(p.limit)}` };
    case 'maximum':
      return { message: `${show(e.data)} is above the maximum ${String(p.limit)}` };
    case 'minItems':
      return { message: p.limit === 1 ? 'must not be empty' : `needs at least ${String(p.limit)} entries` };
    case 'maxItems':
      return { message: `has more than ${String(p.limit)} entries` };
    case 'minProperties':
      return { message: p.limit === 1 ? 'needs at least one entry' : `needs at least ${String(p.limit)} entries` };
    case 'uniqueItems': {
      const arr = e.data as unknown[];
      return { message: `lists ${show(arr[Number(p.i)])} twice` };
    }
    case 'minLength':
      return { message: 'must not be empty' };
    default:
      return { message: e.message ?? e.keyword };
  }
}

/**
 * Validate raw config data against the schema. Returns every problem as `{path (segments), message}`.
 * A failed `oneOf` reports the branch errors that explain it, or its `x-hint` when none does.
 */
export const validateConfigData: Describer = validatorFor(schema);

function describeErrors(errors: readonly ErrorObject[], data: unknown): { segs: (string | number)[]; message: string }[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  const consumed = new Set<ErrorObject>();
  const out: { segs: (string | number)[]; message: string }[] = [];
  const push = (e: ErrorObject, override?: string): void => {
    const d = describe(e);
    const segs = segments(e.instancePath, data);
    if (d.extra !== undefined) segs.push(d.extra);
    // An `if` error only says "must match then"; the branch's own errors explain it.
    if (e.keyword === 'propertyNames' || e.keyword === 'if') return;
    if (e.params && (e.params as Record<string, unknown>).propertyName !== undefined) {
      segs.push(String((e.params as Record<string, unknown>).propertyName));
      out.push({ segs: segs.slice(0, -1), message: `${JSON.stringify((e.params as Record<string, unknown>).propertyName)} is not ${hintOf(e) ?? 'a valid name'}` });
      return;
    }
    out.push({ segs, message: override ?? d.message });
  };
  // ajv reports a failed oneOf after the errors of each branch; their schemaPaths are relative to
  // $refs, so branches are found by instance path. Innermost first: deeper errors explain the value
  // better than the oneOf's hint; errors on the value itself only say "no branch matched".
  const depth = (e: ErrorObject): number => e.instancePath.split('/').length;
  for (const o of [...oneOfs].sort((a, b) => depth(b) - depth(a))) {
    const p = o.instancePath;
    const subs = errors.filter((e) => e !== o && (e.instancePath === p || e.instancePath.startsWith(`${p}/`)));
    const vague = ['type', 'pattern', 'required', 'oneOf'];
    const deeper = subs.filter((e) => !consumed.has(e) && e.keyword !== 'oneOf' && (e.instancePath !== p || !vague.includes(e.keyword)));
    const innerReported = subs.some((e) => e.keyword === 'oneOf' && consumed.has(e));
    subs.forEach((e) => consumed.add(e));
    consumed.add(o);
    if (deeper.length > 0) deeper.forEach((e) => push(e));
    else if (!innerReported) push(o);
  }
  for (const e of errors) if (!consumed.has(e)) push(e);
  const seen = new Set<string>();
  return out.filter((i) => {
    const k = `${formatPath(i.segs)}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function toIssues(found: { segs: (string | number)[]; message: string }[], lineOf?: (p: readonly (string | number)[]) => number | undefined): ConfigIssue[] {
  return found.map((f) => {
    const line = lineOf?.(f.segs);
    return line === undefined ? { path: formatPath(f.segs), message: f.message } : { path: formatPath(f.segs), message: f.message, line };
  });
}
