/**
 * Lock-out lints: configs that are valid but would lock the admin out, or doors that hide nothing.
 * `check-config` and `install-ruleset` both run them; errors refuse (exit 2) unless the admin passes
 * `--allow-lockout`, warnings are printed. Pure: the SSH caller is found elsewhere and passed in.
 */
import { cidrContains, formatPortSpec, parseAddr, type PortSpec, type Service } from '../core';
import type { Config } from './types';

export interface LintFinding {
  /** Stable name, e.g. for tests and docs. */
  readonly code: 'nothing-open' | 'no-doors' | 'door-hides-nothing' | 'ssh-port-closed';
  readonly severity: 'error' | 'warning';
  /** Config path the finding is about (`doors.ssh.open[0]`), or '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

export interface LintContext {
  /** The SSH connection the command runs from, if any: its client address and the server port. */
  readonly sshCaller?: { readonly addr: string; readonly port: number };
}

const same = (a: PortSpec, b: PortSpec): boolean => a.port === b.port && a.proto === b.proto;
/** A port of this host (a forwarded service or a port forward reaches another host, not our sshd). */
const sameLocal = (s: Service, p: PortSpec): boolean => s.kind === 'local' && same(s, p);

function inAllowFrom(cfg: Config, addr: string): boolean {
  const a = parseAddr(addr);
  return Boolean(a) && cfg.base.allowFrom.some((n) => n.family === a!.family && cidrContains(n, a!.bytes));
}

/** Doors that can open `svc` for `addr` (grant doors whose `from`, if any, holds the address). */
function doorsOpening(cfg: Config, svc: PortSpec, addr: string): string[] {
  const a = parseAddr(addr);
  return cfg.doors
    .filter((d) => d.action === 'grant' && d.open.some((o) => sameLocal(o, svc)))
    .filter((d) => !d.from || (a !== undefined && d.from.some((n) => n.family === a.family && cidrContains(n, a.bytes))))
    .map((d) => d.name);
}

function emptiness(cfg: Config): LintFinding[] {
  if (cfg.doors.length > 0) return [];
  if (cfg.base.policy === 'guard') {
    return [{ code: 'no-doors', severity: 'warning', path: 'doors', message: 'no doors: guard policy then closes nothing' }];
  }
  if (cfg.base.allow.length === 0 && cfg.base.allowFrom.length === 0) {
    return [{
      code: 'nothing-open', severity: 'error', path: '',
      message: 'no doors and nothing in base.allow or base.allow_from: with policy drop every new connection (SSH too) is dropped, and nothing can open one',
    }];
  }
  const open = cfg.base.allow.map(formatPortSpec).join(', ') || 'none';
  return [{ code: 'no-doors', severity: 'warning', path: 'doors', message: `no doors: only base.allow (${open}) and base.allow_from get in; nothing can be opened` }];
}

function hidesNothing(cfg: Config): LintFinding[] {
  if (cfg.base.policy !== 'drop') return [];
  const out: LintFinding[] = [];
  for (const d of cfg.doors) {
    if (d.action !== 'grant') continue;
    d.open.forEach((o, i) => {
      if (cfg.base.allow.some((a) => sameLocal(o, a))) {
        out.push({
          code: 'door-hides-nothing', severity: 'warning', path: `doors.${d.name}.open[${i}]`,
          message: `${formatPortSpec(o)} is also in base.allow, so it is open to everyone: the door hides nothing (remove it from base.allow)`,
        });
      }
    });
  }
  return out;
}

function sshPort(cfg: Config, ctx: LintContext): LintFinding[] {
  const c = ctx.sshCaller;
  if (!c || cfg.base.policy !== 'drop') return [];
  const svc: PortSpec = { port: c.port, proto: 'tcp' };
  if (cfg.base.allow.some((a) => same(a, svc)) || inAllowFrom(cfg, c.addr) || doorsOpening(cfg, svc, c.addr).length > 0) return [];
  return [{
    code: 'ssh-port-closed', severity: 'error', path: 'doors',
    message: `you are connected over SSH from ${c.addr} to ${formatPortSpec(svc)}, and no door opens ${formatPortSpec(svc)} for that address ` +
      `(nor base.allow, nor base.allow_from): once the anti-lockout grant expires, no new SSH session gets in. ` +
      `Add a door that opens ${formatPortSpec(svc)}, or add it to base.allow`,
  }];
}

/** Every lock-out finding for `cfg`, errors first. */
export function lintConfig(cfg: Config, ctx: LintContext = {}): LintFinding[] {
  const all = [...emptiness(cfg), ...sshPort(cfg, ctx), ...hidesNothing(cfg)];
  return [...all.filter((f) => f.severity === 'error'), ...all.filter((f) => f.severity === 'warning')];
}
