/** The composition root's helpers: where the config file is, reading it, building real adapters. */
import { readFileSync } from 'node:fs';
import { UsageError, parseAddr, parsePortSpec, type PortSpec } from '../core';
import { loadConfigText, type LoadedConfig } from '../config';
import { NftProcess } from '../io/nft-runner';
import { fileError } from './system-errors';
import { Firewall } from '../daemon';

export const DEFAULT_CONFIG = '/etc/knockctl/config.yaml';

export function configPath(opt: string | undefined): string {
  return opt ?? process.env.KNOCKCTL_CONFIG ?? DEFAULT_CONFIG;
}

/** The config file's text: a missing file is a usage error (2), an unreadable one a runtime error (1) that says to run as root. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw fileError('config file', file, e);
  }
}

/** Read and validate the config file; every problem in it becomes a ConfigError (exit 2). */
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
