/** `knockctl grant` / `knockctl revoke`: manual access in the same sets the daemon uses. */
import { UsageError, formatDuration, formatPortSpec, localService } from '../core';
import { parseDurationArg } from './duration-arg';
import { configPath, firewallFor, parseAddrArg, parsePortArgs, readConfig } from './context';

export interface GrantOptions {
  config?: string;
  timeout?: string;
  door?: string;
}

export async function grant(addrArg: string, portArgs: string[], opts: GrantOptions): Promise<number> {
  const { config: cfg } = readConfig(configPath(opts.config));
  const addr = parseAddrArg(addrArg);
  const ports = parsePortArgs(portArgs);
  const timeoutSec = parseDurationArg('--timeout', opts.timeout ?? '1h', { min: 1 });
  const door = opts.door ?? 'manual';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(door)) throw new UsageError(`--door ${door}: letters, digits, '_', '.', '-' only`);
  await firewallFor(cfg.table).grant([{ door, family: addr.includes(':') ? 6 : 4, addr, services: ports.map(localService), timeoutSec }]);
  process.stdout.write(`granted ${addr} → ${ports.map(formatPortSpec).join(', ')} for ${formatDuration(timeoutSec)} (${door})\n`);
  return 0;
}

export async function revoke(addrArg: string, portArgs: string[], opts: { config?: string }): Promise<number> {
  const { config: cfg } = readConfig(configPath(opts.config));
  const addr = parseAddrArg(addrArg);
  const ports = portArgs.length ? parsePortArgs(portArgs) : undefined;
  const fw = firewallFor(cfg.table);
  const before = await fw.readAccessInstalled();
  const matches = before.filter((e) => e.addr === addr && (!ports || ports.some((p) => p.port === e.port && p.proto === e.proto)));
  await fw.revoke([{ door: 'manual', family: addr.includes(':') ? 6 : 4, addr, ...(ports ? { services: ports.map(localService) } : {}) }]);
  process.stdout.write(matches.length ? `revoked ${matches.map((e) => `${addr} → ${e.port}/${e.proto}`).join(', ')}\n` : `${addr} had no access${ports ? ` to ${ports.map(formatPortSpec).join(', ')}` : ''}; nothing to revoke\n`);
  return 0;
}
