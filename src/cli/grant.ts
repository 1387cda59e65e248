/** `knockctl grant` / `knockctl revoke`: manual access in the same sets the daemon uses. */
import { UsageError, formatDuration, formatService, parseService, sameService, type Service } from '../core';
import type { Config } from '../config';
import { entryService, entryServiceText, portForwards, withoutPortForwardTargets } from '../nft';
import { parseDurationArg } from './duration-arg';
import { configPath, firewallFor, parseAddrArg, readConfig } from './context';

export interface GrantOptions {
  config?: string;
  timeout?: string;
  door?: string;
}

/**
 * Services for grant/revoke: any form a door's `open` takes. A forwarded service or port forward
 * must be one a door of the config names: only those are guarded (forward chain) or DNATed (nat
 * chain), so a grant of anything else would open nothing.
 */
export function parseServiceArgs(list: readonly string[], cfg: Config): Service[] {
  return list.map((text) => {
    const r = parseService(text);
    if (!r.ok) throw new UsageError(r.detail ?? `"${text}" is not a service`);
    const s = r.value;
    if (s.kind !== 'local' && !cfg.doors.some((d) => d.open.some((o) => sameService(o, s)))) {
      const what = s.kind === 'forward' ? 'forwarded service' : 'port forward';
      throw new UsageError(`"${formatService(s)}" is not a ${what} of any door in the config: only those are ${s.kind === 'forward' ? 'guarded by the forward chain' : 'forwarded by the nat chain'}`);
    }
    return s;
  });
}

export async function grant(addrArg: string, serviceArgs: string[], opts: GrantOptions): Promise<number> {
  const { config: cfg } = readConfig(configPath(opts.config));
  const addr = parseAddrArg(addrArg);
  const services = parseServiceArgs(serviceArgs, cfg);
  const timeoutSec = parseDurationArg('--timeout', opts.timeout ?? '1h', { min: 1 });
  const door = opts.door ?? 'manual';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(door)) throw new UsageError(`--door ${door}: letters, digits, '_', '.', '-' only`);
  const family = addr.includes(':') ? 6 : 4;
  const unreachable = services.filter((s) => s.kind !== 'local' && s.family !== family);
  if (unreachable.length) throw new UsageError(`${addr} is an IPv${family} address: it cannot reach ${unreachable.map(formatService).join(', ')} (no NAT between IPv4 and IPv6)`);
  await firewallFor(cfg.table, cfg).grant([{ door, family, addr, services, timeoutSec }]);
  process.stdout.write(`granted ${addr} → ${services.map(formatService).join(', ')} for ${formatDuration(timeoutSec)} (${door})\n`);
  return 0;
}

export async function revoke(addrArg: string, serviceArgs: string[], opts: { config?: string }): Promise<number> {
  const { config: cfg } = readConfig(configPath(opts.config));
  const addr = parseAddrArg(addrArg);
  const services = serviceArgs.length ? parseServiceArgs(serviceArgs, cfg) : undefined;
  const fw = firewallFor(cfg.table, cfg);
  const before = await fw.readAccessInstalled();
  const pfs = portForwards(cfg);
  const matches = withoutPortForwardTargets(before, cfg.doors).filter((e) => {
    if (e.addr !== addr) return false;
    const s = entryService(e, pfs);
    return !services || (s !== undefined && services.some((x) => sameService(x, s)));
  });
  await fw.revoke([{ door: 'manual', family: addr.includes(':') ? 6 : 4, addr, ...(services ? { services } : {}) }]);
  const named = services ? ` to ${services.map(formatService).join(', ')}` : '';
  process.stdout.write(matches.length ? `revoked ${matches.map((e) => `${addr} → ${entryServiceText(e, pfs)}`).join(', ')}\n` : `${addr} had no access${named}; nothing to revoke\n`);
  return 0;
}
