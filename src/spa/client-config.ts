/**
 * The SPA client's config (`~/.config/knockctl/client.yaml`, schemas/client.schema.json):
 * text → YAML → ajv → normalized stanzas. No file system here; the CLI reads the file and the key.
 */
import schema from '../../schemas/client.schema.json';
import { ConfigError, type ConfigIssue, formatService, parseAddr, parseDuration, parseService } from '../core';
import { parseConfigText } from '../config/parse';
import { toIssues, validatorFor } from '../config/validate';
import { normalizeRotateParams, type RotateParamsOf } from '../config/rotate-params';

/** One stanza: where to send, with which key, asking for what. */
export interface ClientStanza {
  readonly stanza: string;
  readonly host: string;
  /** SPA: absent means the key file's port, else 62201. */
  readonly port?: number;
  /** An SPA stanza's key file, as written; the CLI expands a leading `~/`. */
  readonly keyFile?: string;
  /** A rotating knock door's stanza (`knockctl knock --door STANZA`): no key_file then. */
  readonly rotate?: ClientRotate;
  readonly name?: string;
  /** Server identity (`x25519:...`) and door, when the key file does not hold them (a key brought by the client). */
  readonly server?: string;
  readonly door?: string;
  /** URL answering with the client's public address (fwknop's -R); no default. */
  readonly resolveUrl?: string;
  /** Canonical texts of the door's `open` entries to ask for; empty = everything the server lets this client open. */
  readonly open: readonly string[];
  /** Address to open instead of the source (canonical text). */
  readonly allow?: string;
  readonly timeoutSec?: number;
}

/** What a client needs to knock on a rotating door: its secret file and parameters, nothing else. */
export interface ClientRotate extends RotateParamsOf {
  /** As written; the CLI expands a leading `~/`. */
  readonly secretFile: string;
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
    const p = parseService(s);
    if (!p.ok) err(['open', i], p.detail ?? 'not a service');
    return p.ok ? formatService(p.value) : s;
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
  let rotate: ClientRotate | undefined;
  if (r.rotate !== undefined) {
    const rr = r.rotate as Record<string, unknown>;
    rotate = { secretFile: rr.secret_file as string, ...normalizeRotateParams(rr, ['rotate'], err) };
    for (const k of ['key_file', 'name', 'open', 'allow', 'allow_source', 'timeout', 'port', 'server', 'door', 'resolve_url']) {
      if (r[k] !== undefined) err([k], 'is for SPA stanzas; a rotate stanza (a knock door) has only host and rotate');
    }
  } else if (r.key_file === undefined) err([], 'needs key_file (an SPA door) or rotate (a rotating knock door)');
  return {
    stanza, host: r.host as string, open,
    ...(r.port !== undefined ? { port: r.port as number } : {}),
    ...(r.key_file !== undefined ? { keyFile: r.key_file as string } : {}),
    ...(rotate ? { rotate } : {}),
    ...(r.name !== undefined ? { name: r.name as string } : {}),
    ...(r.server !== undefined ? { server: r.server as string } : {}),
    ...(r.door !== undefined ? { door: r.door as string } : {}),
    ...(r.resolve_url !== undefined ? { resolveUrl: r.resolve_url as string } : {}),
    ...(allow ? { allow } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
  };
}
