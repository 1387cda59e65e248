/**
 * The server's SPA identity from the CLI: created by install-ruleset and the daemon, printed by
 * `knockctl identity` for clients that bring their own Ed25519 key.
 */
import { join } from 'node:path';
import { KnockctlError, UsageError, type Logger } from '../core';
import type { Config, SpaDoor } from '../config';
import { formatIdentityFile, formatTargetLines, generateIdentity, identityFingerprint, needsSpaIdentity, parseIdentityFile, type SpaIdentity } from '../spa';
import { createFileOnce, readSmallFile } from '../io/exclusive-file';
import { configPath, readConfig } from './context';

export const IDENTITY_FILE = 'spa-identity';

export interface LoadedIdentity {
  readonly identity: SpaIdentity;
  readonly file: string;
  readonly created: boolean;
  /** Something worth a warning (a file others can read). */
  readonly warning?: string;
}

/** Read `<state_dir>/spa-identity`; undefined when there is none yet. Throws on an unreadable or bad file. */
export function readIdentity(stateDir: string): LoadedIdentity | undefined {
  const file = join(stateDir, IDENTITY_FILE);
  let f;
  try {
    f = readSmallFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KnockctlError('ERR_IDENTITY', `cannot read the SPA identity ${file}: ${code ?? (e as Error).message}${code === 'EACCES' ? ' (run as root)' : ''}`);
  }
  if (!f) return undefined;
  const id = parseIdentityFile(f.text);
  if (!id.ok) throw new KnockctlError('ERR_IDENTITY', `${file}: ${id.detail ?? 'bad identity file'}; move it away to create a new identity (every client key file must then be remade)`);
  const warning = f.mode & 0o077 ? `${file} is readable by group or others (mode ${(f.mode & 0o777).toString(8)}): it is the server's private SPA key; run chmod 600 ${file}` : undefined;
  return { identity: id.value, file, created: false, ...(warning ? { warning } : {}) };
}

/** Read the identity, creating it (never replacing one) when there is none. */
export function loadOrCreateIdentity(stateDir: string): LoadedIdentity {
  const have = readIdentity(stateDir);
  if (have) return have;
  const identity = generateIdentity();
  const file = join(stateDir, IDENTITY_FILE);
  let created: boolean;
  try {
    created = createFileOnce(file, formatIdentityFile(identity));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KnockctlError('ERR_IDENTITY', `cannot create the SPA identity ${file}: ${code ?? (e as Error).message}${code === 'EACCES' ? ' (run as root)' : ''}`);
  }
  if (created) return { identity, file, created: true };
  const other = readIdentity(stateDir);
  if (!other) throw new KnockctlError('ERR_IDENTITY', `${file} vanished while it was created`);
  return other;
}

/** install-ruleset: create the identity when an SPA door needs it (not `format: fwknop` ones), and say so. */
export function ensureSpaIdentity(cfg: Config): void {
  if (!needsSpaIdentity(cfg.doors)) return;
  const l = loadOrCreateIdentity(cfg.stateDir);
  if (l.warning) process.stderr.write(`warning: ${l.warning}\n`);
  if (l.created) process.stdout.write(`created this server's SPA identity ${identityFingerprint(l.identity.pub)} in ${l.file}\n`);
}

/**
 * The daemon's identity loader (RuntimeFiles.spaIdentity): called by the runtime only when the config
 * has an SPA door of nftknock's format, it loads (or creates) the identity once and keeps it; a
 * daemon without such a door never creates the file, and the reload that adds the first one does.
 * When it cannot be read or created (a read-only or full state_dir), the daemon still runs for its
 * other doors: SPA doors get a throwaway identity no client knows, so they refuse everything (fail
 * closed), the error says why, and the next reload tries again.
 */
export function spaIdentityLoader(stateDir: string, log: Logger): () => SpaIdentity {
  let loaded: SpaIdentity | undefined;
  return () => {
    if (loaded) return loaded;
    let l;
    try {
      l = loadOrCreateIdentity(stateDir);
    } catch (e) {
      const reason = (e as Error).message;
      log.error({ event: 'spa-identity', reason }, `no SPA identity: SPA doors refuse every datagram until this is fixed and the daemon reloaded (${reason})`);
      return generateIdentity();
    }
    const fields = { event: 'spa-identity', file: l.file, fingerprint: identityFingerprint(l.identity.pub), created: l.created };
    if (l.warning) log.warn({ ...fields, reason: l.warning }, l.warning);
    else log.info(fields, l.created ? 'created this server\'s SPA identity' : 'SPA identity loaded');
    loaded = l.identity;
    return loaded;
  };
}

/**
 * The SPA door of nftknock's format named `door` (or the only one), with a message listing the
 * choices otherwise. `format: fwknop` doors are refused: their clients use fwknop's own keys and
 * no server identity, so keygen and identity have nothing to give them.
 */
export function spaDoorOf(cfg: Config, door: string | undefined, file: string): SpaDoor {
  const all = cfg.doors.filter((d): d is SpaDoor => d.kind === 'spa');
  const spa = all.filter((d) => d.spa.format !== 'fwknop');
  const fwknop = all.filter((d) => d.spa.format === 'fwknop').map((d) => d.name);
  const fwknopNote = 'its clients use fwknop\'s own keys (fwknop --key-gen) and no server identity';
  if (door !== undefined && fwknop.includes(door)) throw new UsageError(`--door ${door}: a "format: fwknop" door; ${fwknopNote}`);
  if (spa.length === 0) throw new UsageError(fwknop.length ? `${file} has no SPA door of nftknock's format (${fwknop.join(', ')}: "format: fwknop"; ${fwknopNote})` : `${file} has no SPA door`);
  const names = spa.map((d) => d.name).join(', ');
  if (door === undefined) {
    if (spa.length === 1) return spa[0] as SpaDoor;
    throw new UsageError(`--door DOOR is required: ${file} has several SPA doors (${names})`);
  }
  const d = spa.find((x) => x.name === door);
  if (!d) throw new UsageError(`--door ${door}: not an SPA door of ${file} (SPA doors: ${names})`);
  return d;
}

/** `knockctl identity`: what a client needs besides its own key, as key-file lines. */
export function identityCommand(opts: { config?: string; door?: string; host?: string }): number {
  const file = configPath(opts.config);
  const { config } = readConfig(file);
  const door = spaDoorOf(config, opts.door, file);
  const id = readIdentity(config.stateDir);
  if (!id) throw new UsageError(`this server has no SPA identity yet (${config.stateDir}/spa-identity): run knockctl install-ruleset or start the daemon first`);
  process.stdout.write(formatTargetLines({
    server: id.identity.pub, door: door.name, port: door.spa.port,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(door.spa.requireAddress ? { requireAddress: true } : {}),
  }));
  return 0;
}
