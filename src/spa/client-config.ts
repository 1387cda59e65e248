/**
 * The SPA client's config (`~/.config/knockctl/client.yaml`, schemas/client.schema.json):
 * text → YAML → ajv → normalized stanzas. No file system here; the CLI reads the file and the key.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../schemas/client.schema.json';
import { ConfigError, type ConfigIssue, type PortSpec, parseAddr, parseDuration, parsePortSpec } from '../core';
import { parseConfigText } from '../config/parse';
import { toIssues } from '../config/validate';

/** One stanza: where to send, with which key, asking for what. */
export interface ClientStanza {
  readonly stanza: string;
  readonly host: string;
  readonly port: number;
  /** As written; the CLI expands a leading `~/`. */
  readonly keyFile: string;
  readonly name?: string;
  /** Empty = everything the server lets this client open. */
  readonly open: readonly PortSpec[];
  /** Address to open instead of the source (canonical text). */
  readonly allow?: string;
  readonly timeoutSec?: number;
}

type Segs = (string | number)[];
let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Parse client config text; throws ConfigError listing every problem with its path and line. */
export function loadClientConfigText(text: string, file?: string): ReadonlyMap<string, ClientStanza> {
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new ConfigError(parsed.issues, file);
  const { data, lineOf } = parsed.parsed;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ path: '', message: 'the client config must be a mapping of stanza names to stanzas' }], file);
  }
  const v = validator();
  if (!v(data)) throw new ConfigError(toIssues(dedupe((v.errors ?? []).flatMap((e) => describe(e, data))), lineOf), file);
  const issues: { segs: Segs; message: string }[] = [];
  const out = new Map<string, ClientStanza>();
  for (const [name, raw] of Object.entries(data as Record<string, Record<string, unknown>>)) {
    out.set(name, normalizeStanza(name, raw, (segs, message) => issues.push({ segs: [name, ...segs], message })));
  }
  if (issues.length > 0) throw new ConfigError(toIssues(issues, lineOf) as ConfigIssue[], file);
  return out;
}

function normalizeStanza(stanza: string, r: Record<string, unknown>, err: (segs: Segs, m: string) => void): ClientStanza {
  const open = ((r.open as string[] | undefined) ?? []).map((s, i) => {
    const p = parsePortSpec(s);
    if (!p.ok) err(['open', i], p.detail ?? 'not PORT/PROTO');
    return p.ok ? p.value : { port: 0, proto: 'tcp' as const };
  });
  let allow: string | undefined;
  if (r.allow !== undefined) {
    allow = parseAddr(r.allow as string)?.text;
    if (!allow) err(['allow'], `${JSON.stringify(r.allow)} is not an IPv4 or IPv6 address`);
    if (r.allow_source === true) err(['allow_source'], 'cannot be true together with allow: open either the source or the given address');
  }
  let timeoutSec: number | undefined;
  if (r.timeout !== undefined) {
    timeoutSec = parseDuration(r.timeout as number | string);
    if (timeoutSec === undefined || timeoutSec < 1 || timeoutSec > 0xffffffff) err(['timeout'], `${JSON.stringify(r.timeout)} is not a duration of 1s or more`);
  }
  return {
    stanza, host: r.host as string, port: (r.port as number | undefined) ?? 62201, keyFile: r.key_file as string, open,
    ...(r.name !== undefined ? { name: r.name as string } : {}),
    ...(allow ? { allow } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
  };
}

function describe(e: ErrorObject, data: unknown): { segs: Segs; message: string }[] {
  const segs = segmentsOf(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  const hint = (e.parentSchema as Record<string, unknown> | undefined)?.['x-hint'];
  const shown = JSON.stringify(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(((e.parentSchema as Record<string, unknown>)?.properties as object) ?? {});
      return [{ segs: [...segs, String(p.additionalProperty)], message: `unknown key; known keys: ${known.join(', ')}` }];
    }
    case 'required':
      return [{ segs, message: `missing required key "${String(p.missingProperty)}"` }];
    case 'propertyNames':
      return [];
    case 'pattern':
      if (p.propertyName !== undefined || e.schemaPath.includes('oneOf')) return [];
      return [{ segs, message: `${shown} is not ${typeof hint === 'string' ? hint : 'of the expected form'}` }];
    case 'oneOf':
      return [{ segs, message: `${shown} is not ${typeof hint === 'string' ? hint : 'of the expected form'}` }];
    case 'type':
      return segs.length > 0 && e.schemaPath.includes('oneOf') ? [] : [{ segs, message: `expected ${String(p.type)}, got ${shown}` }];
    default:
      if (e.schemaPath.includes('oneOf')) return [];
      return [{ segs, message: `${shown} ${e.message ?? e.keyword}` }];
  }
}

/** ajv's `/gw/open/1` → `['gw', 'open', 1]`: indices of lists become numbers. */
function segmentsOf(pointer: string, data: unknown): Segs {
  const out: Segs = [];
  let cur = data;
  for (const k of pointer ? pointer.slice(1).split('/') : []) {
    out.push(Array.isArray(cur) ? Number(k) : k);
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  }
  return out;
}

function dedupe(list: { segs: Segs; message: string }[]): { segs: Segs; message: string }[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const k = JSON.stringify(i);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
