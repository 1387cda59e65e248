/**
 * This host's own addresses (knocks count only when sent to one of them). Read from
 * os.networkInterfaces() and re-read every 2 s: a cheap syscall-free poll in Node's terms (one
 * getifaddrs), simpler and sturdier than parsing `ip monitor`, and an address change reaches the
 * knock engine within 2 s. Addresses are kept as canonical text, as the decoder produces them.
 */
import { networkInterfaces } from 'node:os';
import { parseAddr } from '../core';

export class LocalAddresses {
  private addrs = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    pollMs = 2000,
    private readonly read: () => ReturnType<typeof networkInterfaces> = networkInterfaces,
  ) {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), pollMs);
    this.timer.unref();
  }

  has(addr: string): boolean {
    return this.addrs.has(addr);
  }

  /** Re-read now (also used by tests). */
  refresh(): void {
    const next = new Set<string>();
    for (const list of Object.values(this.read())) {
      for (const a of list ?? []) {
        const p = parseAddr(a.address.split('%')[0] ?? '');
        if (p) next.add(p.text);
      }
    }
    this.addrs = next;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
