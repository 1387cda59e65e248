/**
 * This host's own addresses, as canonical text, kept fresh by polling `os.networkInterfaces()`.
 *
 * Polling rather than `ip monitor`: getifaddrs() costs microseconds every 2 s, needs no child
 * process to supervise, restart and parse, and works without iproute2. The price is that a new
 * address counts as ours up to one interval late, which only delays knocks to a just-added address.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { parseAddr } from '../core';

export interface LocalAddressesOptions {
  /** Milliseconds between refreshes; default 2000. */
  readonly intervalMs?: number;
  /** Source of addresses; default `os.networkInterfaces`. */
  readonly read?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Timer, injected so tests can step it. Default `setInterval`, unref'd. */
  readonly every?: (ms: number, fn: () => void) => { cancel(): void };
  /** Called after a refresh that changed the set (not on the first read). */
  readonly onChange?: (added: readonly string[], removed: readonly string[]) => void;
}

export class LocalAddresses {
  private addrs: ReadonlySet<string>;
  private readonly read: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  private readonly onChange: LocalAddressesOptions['onChange'];
  private timer: { cancel(): void } | undefined;

  constructor(opts: LocalAddressesOptions = {}) {
    this.read = opts.read ?? networkInterfaces;
    this.onChange = opts.onChange;
    this.addrs = collect(this.read());
    const every = opts.every ?? defaultEvery;
    this.timer = every(opts.intervalMs ?? 2000, () => this.refresh());
  }

  /** True when `addr` (canonical text, as in KnockEvent.dst) is one of ours. */
  has(addr: string): boolean {
    return this.addrs.has(addr);
  }

  /** Sorted, for logs and status. */
  list(): string[] {
    return [...this.addrs].sort();
  }

  /** Reads the addresses now; returns whether they changed. A failed read keeps the old set. */
  refresh(): boolean {
    let next: ReadonlySet<string>;
    try {
      next = collect(this.read());
    } catch {
      return false;
    }
    const added = [...next].filter((a) => !this.addrs.has(a));
    const removed = [...this.addrs].filter((a) => !next.has(a));
    if (added.length === 0 && removed.length === 0) return false;
    this.addrs = next;
    this.onChange?.(added, removed);
    return true;
  }

  /** Stops refreshing; `has` keeps answering from the last set. */
  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}

function collect(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): ReadonlySet<string> {
  const out = new Set<string>();
  for (const list of Object.values(ifaces)) {
    for (const info of list ?? []) {
      // Node gives link-local IPv6 without the zone; parseAddr refuses a "%zone" suffix, so strip it.
      const text = parseAddr(info.address.split('%')[0] as string)?.text;
      if (text) out.add(text);
    }
  }
  return out;
}

function defaultEvery(ms: number, fn: () => void): { cancel(): void } {
  const t = setInterval(fn, ms);
  // Address tracking alone must not keep the daemon alive.
  t.unref();
  return { cancel: () => clearInterval(t) };
}
