/**
 * Grants, revokes and hooks leave the packet path here. Requests arriving in the same tick go to nft
 * as one batch (one process); a failed batch is retried once after a short pause, then each failure
 * is logged with nft's own message. The kernel then owns expiry.
 */
import type { Grant, Logger, PortSpec, Revoke } from '../core';
import type { Door } from '../config';
import type { Firewall } from './firewall';
import type { HookRunner } from '../io/hook-runner';
import type { DaemonStats } from './stats';

const RETRY_MS = 250;

export interface ActionDeps {
  firewall: () => Firewall;
  hooks: HookRunner;
  log: Logger;
  stats: DaemonStats;
  /** Timers, injectable for tests. */
  setTimer: (fn: () => void, ms: number) => { unref?: () => void };
}

export class Actions {
  private grants: { grant: Grant; why: Record<string, unknown> }[] = [];
  private revokes: { revoke: Revoke; why: Record<string, unknown> }[] = [];
  private scheduled = false;
  private inflight: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ActionDeps) {}

  grant(grant: Grant, why: Record<string, unknown>): void {
    this.grants.push({ grant, why });
    this.schedule();
  }

  revoke(revoke: Revoke, why: Record<string, unknown>): void {
    this.revokes.push({ revoke, why });
    this.schedule();
  }

  /** Resolves when everything queued so far has been applied (or has failed). */
  async flush(): Promise<void> {
    if (this.grants.length || this.revokes.length) await this.run();
    await this.inflight;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private run(): Promise<void> {
    const grants = this.grants.splice(0);
    const revokes = this.revokes.splice(0);
    this.inflight = this.inflight.then(() => this.apply(grants, revokes));
    return this.inflight;
  }

  private async apply(grants: { grant: Grant; why: Record<string, unknown> }[], revokes: { revoke: Revoke; why: Record<string, unknown> }[]): Promise<void> {
    const { log, stats } = this.deps;
    if (grants.length) {
      const err = await this.attempt(() => this.deps.firewall().grant(grants.map((g) => g.grant)));
      for (const { grant: g, why } of grants) {
        if (err) {
          log.error({ event: 'grant-failed', door: g.door, src: g.addr, reason: err }, 'grant failed');
          continue;
        }
        stats.grants++;
        log.info({ event: 'grant', door: g.door, src: g.addr, ports: g.ports.map(fmt), timeout: g.timeoutSec, ...why }, `OPEN SESAME: ${g.addr} may use ${g.ports.map(fmt).join(', ')} for ${g.timeoutSec}s`);
      }
    }
    if (revokes.length) {
      const err = await this.attempt(() => this.deps.firewall().revoke(revokes.map((r) => r.revoke)));
      for (const { revoke: r, why } of revokes) {
        if (err) {
          log.error({ event: 'revoke-failed', door: r.door, src: r.addr, reason: err }, 'revoke failed');
          continue;
        }
        stats.revokes++;
        log.info({ event: 'revoke', door: r.door, src: r.addr, ports: (r.ports ?? []).map(fmt), ...why }, `closed ${r.addr}`);
      }
    }
  }

  /** Run once, retry once; returns nft's message on failure. */
  private async attempt(fn: () => Promise<void>): Promise<string | undefined> {
    try {
      await fn();
      return undefined;
    } catch (first) {
      this.deps.stats.nftFailures++;
      this.deps.log.warn({ event: 'nft-error', reason: (first as Error).message, retry: true }, 'nft failed, retrying');
      await new Promise<void>((r) => this.deps.setTimer(r, RETRY_MS));
      try {
        await fn();
        return undefined;
      } catch (second) {
        this.deps.stats.nftFailures++;
        return (second as Error).message;
      }
    }
  }

  /** knockd's command / start_command now, stop_command after cmd_timeout. */
  runHooks(door: Door, addr: string): void {
    const h = door.hooks;
    const start = h.command ?? h.startCommand;
    if (start) this.hook(door, 'start', start, addr);
    if (h.stopCommand) {
      const stop = h.stopCommand;
      this.deps.setTimer(() => this.hook(door, 'stop', stop, addr), h.cmdTimeoutSec * 1000).unref?.();
    }
  }

  private hook(door: Door, which: string, argv: readonly string[], addr: string): void {
    const perPort = argv.some((a) => a.includes('%PORT%') || a.includes('%PROTO%'));
    const targets: (PortSpec | undefined)[] = perPort ? [...door.open] : [door.open[0]];
    for (const p of targets) {
      const vars = { IP: addr, PORT: String(p?.port ?? ''), PROTO: p?.proto ?? '' };
      void this.deps.hooks.run(argv, vars, 10000).then((r) => {
        if (r.ok) this.deps.log.info({ event: 'hook', door: door.name, src: addr, hook: which }, `${which} command ran`);
        else {
          this.deps.stats.hookFailures++;
          this.deps.log.warn({ event: 'hook-failed', door: door.name, src: addr, hook: which, code: r.code, reason: r.stderr }, `${which} command failed`);
        }
      });
    }
  }
}

function fmt(p: PortSpec): string {
  return `${p.port}/${p.proto}`;
}
