/**
 * The SPA client's config (`~/.config/knockctl/client.yaml`, schemas/client.schema.json):
 * text → YAML → ajv → normalized stanzas. No file system here; the CLI reads the file and the key.
 */
import schema from '../../schemas/client.schema.json';
import { ConfigError, type ConfigIssue, type PortSpec, parseAddr, parseDuration, parsePortSpec } from '../core';
import { parseConfigText } from '../config/parse';
import { toIssues, validatorFor } from '../config/validate';

/** One stanza: where to send, with which key, asking for what. */
export interface ClientStanza {
  readonly stanza: string;
  readonly host: string;
  /** Absent: the key file's port, else 62201. */
  readonly port?: number;
  /** As written; the CLI expands a leading `~/`. */
  readonly keyFile: string;
  readonly name?: string;
  /** Server identity (`x25519:...`) and door, when the key file does not hold them (a key brought by the client). */
  readonly server?: string;
  readonly door?: string;
  /** URL answering with the client's public address (fwknop's -R); no default. */
  readonly resolveUrl?: string;
  /** Empty = everything the server lets this client open. */
  readonly open: readonly PortSpec[];
  /** Address to open instead of the source (canonical text). */
  readonly allow?: string;
  readonly timeoutSec?: number;
}

type Segs = (string | number)[];
const validateClientData = validatorFor(schema);

/** Parse client config text; throws ConfigError listing every problem with its path and line. */
export function loadClientConfigText(text: string, file?: string): ReadonlyMap<string, ClientStanza> {
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new ConfigError(parsed.issues, file);
  const { data, lineOf } = parsed.parsed;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ path: '', message: 'the client config must be a mapping of stanza names to stanzas' }], file);
  }
  const schemaIssues = validateClientData(data);
  if (schemaIssues.length > 0) throw new ConfigError(toIssues(schemaIssues, lineOf), file);
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
    if (r.resolve_url !== undefined) err(['resolve_url'], 'cannot be used together with allow: the address comes from one or the other');
  }
  let timeoutSec: number | undefined;
  if (r.timeout !== undefined) {
    timeoutSec = parseDuration(r.timeout as number | string);
    if (timeoutSec === undefined || timeoutSec < 1 || timeoutSec > 0xffffffff) err(['timeout'], `${JSON.stringify(r.timeout)} is not a duration of 1s or more`);
  }
  return {
    stanza, host: r.host as string, keyFile: r.key_file as string, open,
    ...(r.port !== undefined ? { port: r.port as number } : {}),
    ...(r.name !== undefined ? { name: r.name as string } : {}),
    ...(r.server !== undefined ? { server: r.server as string } : {}),
    ...(r.door !== undefined ? { door: r.door as string } : {}),
    ...(r.resolve_url !== undefined ? { resolveUrl: r.resolve_url as string } : {}),
    ...(allow ? { allow } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
  };
}
