/** The composition root's helpers: where the config file is, reading it, building real adapters. */
import { readFileSync } from 'node:fs';
import { ConfigError, UsageError, parseAddr, parsePortSpec, type PortSpec } from '../core';
import { loadConfigText, type LoadedConfig } from '../config';
import { NftProcess } from '../io/nft-runner';
import { Firewall } from '../daemon';

export const DEFAULT_CONFIG = '/etc/knockctl/config.yaml';

export function configPath(opt: string | undefined): string {
  return opt ?? process.env.KNOCKCTL_CONFIG ?? DEFAULT_CONFIG;
}

/** The config file's text; a file that cannot be read is a ConfigError (exit 2). */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new ConfigError([{ path: '', message: `cannot read the config file: ${why}` }], file);
  }
}

/** Read and validate the config file; every problem becomes a ConfigError (exit 2). */
export function readConfig(file: string): LoadedConfig {
  return loadConfigText(readConfigText(file), file);
}

export function firewallFor(table: string): Firewall {
  return new Firewall(new NftProcess(), table);
}

/** Parse `ADDR` for grant/revoke. */
export function parseAddrArg(s: string): string {
  const a = s.includes('/') ? undefined : parseAddr(s);
  if (!a) throw new UsageError(`"${s}" is not an IPv4 or IPv6 address`);
  return a.text;
}

/** Parse `PORT/PROTO` arguments. */
export function parsePortArgs(list: readonly string[]): PortSpec[] {
  return list.map((s) => {
    const r = parsePortSpec(s);
    if (!r.ok) throw new UsageError(r.detail ?? `"${s}" is not PORT/PROTO`);
    return r.value;
  });
}

/** The caller's SSH connection (`SSH_CONNECTION="client cport server sport"`), if any. */
export function sshCaller(env: NodeJS.ProcessEnv = process.env): { addr: string; port: number } | undefined {
  const conn = env.SSH_CONNECTION?.trim().split(/\s+/);
  if (conn && conn.length === 4) {
    const a = parseAddr((conn[0] as string).replace(/^::ffff:(?=\d+\.)/, ''));
    const port = Number(conn[3]);
    if (a && Number.isInteger(port) && port > 0 && port < 65536) return { addr: a.text, port };
  }
  const client = env.SSH_CLIENT?.trim().split(/\s+/);
  if (client && client.length === 3) {
    const a = parseAddr((client[0] as string).replace(/^::ffff:(?=\d+\.)/, ''));
    const port = Number(client[2]);
    if (a && Number.isInteger(port) && port > 0 && port < 65536) return { addr: a.text, port };
  }
  return undefined;
}
