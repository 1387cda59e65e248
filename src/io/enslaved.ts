/**
 * Interfaces whose packets the capture on `any` may also get from their master: ports of a bridge
 * and slaves of a bond (libpcap's `any` hands a packet over once per device it passes). Read from
 * sysfs; which of them the capture may skip is decided in daemon/capture-skip.ts.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface EnslavedInterface {
  readonly name: string;
  readonly ifindex: number;
  readonly master: string;
  readonly kind: 'bridge' | 'bond';
}

export interface Enslaved {
  readonly interfaces: readonly EnslavedInterface[];
  /** br_netfilter passes bridged traffic to the IP hooks (bridge-nf-call-iptables or -ip6tables is 1). */
  readonly bridgeNetfilter: boolean;
}

const BR_NETFILTER = ['net/bridge/bridge-nf-call-iptables', 'net/bridge/bridge-nf-call-ip6tables'];

/** `root` is the sysfs class directory (/sys/class/net), `procSys` /proc/sys (tests pass fake trees). */
export function enslavedInterfaces(root = '/sys/class/net', procSys = '/proc/sys'): Enslaved {
  const bridgeNetfilter = BR_NETFILTER.some((f) => {
    try {
      return readFileSync(join(procSys, f), 'utf8').trim() === '1';
    } catch {
      return false;
    }
  });
  const interfaces: EnslavedInterface[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    // No sysfs: nothing to skip.
  }
  for (const name of names) {
    try {
      const master = basename(readlinkSync(join(root, name, 'master')));
      const kind = existsSync(join(root, master, 'bridge')) ? 'bridge' : existsSync(join(root, master, 'bonding')) ? 'bond' : undefined;
      if (!kind) continue;
      const ifindex = Number(readFileSync(join(root, name, 'ifindex'), 'utf8').trim());
      if (Number.isInteger(ifindex) && ifindex > 0) interfaces.push({ name, ifindex, master, kind });
    } catch {
      // No master (most interfaces), or the interface went away while we looked.
    }
  }
  interfaces.sort((a, b) => a.ifindex - b.ifindex);
  return { interfaces, bridgeNetfilter };
}
