/** The composition root's helpers: where the config file is, reading it, building real adapters. */
import { readFileSync } from 'node:fs';
import { ConfigError, UsageError, parseAddr, parsePortSpec, type PortSpec } from '../core';
import { loadConfigText, localTargetIssues, type Config, type LoadedConfig } from '../config';
import { LocalAddresses } from '../io/local-addresses';
import { fileError } from './system-errors';
import type { Firewall } from '../daemon';

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

/** Whether an address is this host's, as of now (one read of the interfaces, no refresh timer). */
export function localAddressesNow(): (addr: string) => boolean {
  const own = new LocalAddresses({ every: () => ({ cancel: () => undefined }) });
  return (a) => own.has(a);
}

/**
 * Refuse a config whose forwarded services or port forwards target this host's own addresses: the
 * forward path never sees that traffic. install-ruleset runs it; check-config and the daemon (start,
 * reload) get it from the runtime check.
 */
export function checkLocalTargets(cfg: Config, file: string): void {
  const issues = localTargetIssues(cfg.doors, localAddressesNow());
  if (issues.length) throw new ConfigError(issues, file);
}

/**
 * The firewall of `table`; with `cfg`, grants and revokes go to the sets its doors have (nft/layout.ts).
 * Loaded on use: commands that only read the config (check-config, knock) skip the daemon's modules.
 */
export function firewallFor(table: string, cfg?: Config): Firewall {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Firewall: Fw } = require('../daemon') as typeof import('../daemon');
  const { NftProcess } = require('../io/nft-runner') as typeof import('../io/nft-runner');
  const { buildSetLayout } = require('../nft') as typeof import('../nft');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new Fw(new NftProcess(), table, cfg ? buildSetLayout(cfg) : undefined);
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
