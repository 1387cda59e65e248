/**
 * `knockctl keygen`: on the server (`-c CONFIG --door DOOR -n NAME -o FILE`), one key file with
 * everything the client needs for this server and door, and the entry to add to the door's
 * `clients`; without --door, a bare key (an Ed25519 key a client makes for itself).
 */
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { UsageError } from '../core';
import { formatClientKeyFile, generateClientKey, identityFingerprint, serverEntryOf, type ClientKeyFile } from '../spa';
import { writeFileAtomicSync } from '../io/atomic-file';
import { configPath, readConfig } from './context';
import { loadOrCreateIdentity, spaDoorOf } from './identity';

export interface KeygenOptions {
  ed25519?: boolean;
  name?: string;
  out?: string;
  force?: boolean;
  config?: string;
  door?: string;
  host?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,31}$/;

export function keygenCommand(opts: KeygenOptions): number {
  const name = opts.name ?? 'client';
  if (!NAME_RE.test(name)) throw new UsageError(`--name ${name}: letters, digits, '_', '.', '@', '-' (at most 32)`);
  const key = generateClientKey(opts.ed25519 ? 'ed25519' : 'aead');
  const out = opts.out ?? `${name}.key`;
  const serverSide = opts.door !== undefined || opts.config !== undefined;
  let file: ClientKeyFile = { key, name };
  let where = '';
  if (serverSide) {
    const cfgFile = configPath(opts.config);
    const { config } = readConfig(cfgFile);
    const door = spaDoorOf(config, opts.door, cfgFile);
    if (door.spa.clients.some((c) => c.name === name)) throw new UsageError(`door ${door.name} already has a client "${name}"; choose another --name`);
    const id = loadOrCreateIdentity(config.stateDir);
    if (id.created) process.stderr.write(`created this server's SPA identity ${identityFingerprint(id.identity.pub)} in ${id.file}\n`);
    file = {
      key, name, server: id.identity.pub, door: door.name, port: door.spa.port,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(door.spa.requireAddress ? { requireAddress: true } : {}),
    };
    where = `doors.${door.name}.spa.clients`;
  } else if (opts.host !== undefined) {
    throw new UsageError('--host needs --door (a key made on the server for one of its doors)');
  }
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(out, formatClientKeyFile(file), { mode: 0o600, ...(opts.force ? { force: true } : {}) });
  const [k, v] = Object.entries(serverEntryOf(key))[0] as [string, string];
  const secret = key.type === 'aead' ? ' (the same secret as the key file: keep the config root-only)' : ' (a public key: not secret)';
  process.stdout.write(serverSide
    ? `client key written to ${out} (mode 0600): give it to ${name} (e.g. as ~/.config/knockctl/${name}.key); it works for this server and door only\n` +
      `add this under ${where} in the server config${secret}, then reload the daemon:\n\n        ${name}: { ${k}: "${v}" }\n`
    : `key written to ${out} (mode 0600). Send the server's admin this entry for the door's clients${secret}:\n\n        ${name}: { ${k}: "${v}" }\n\n` +
      `and append what the admin's 'knockctl identity -c CONFIG --door DOOR' prints to ${out} (server identity, door, port).\n`);
  return 0;
}
