/**
 * Which interfaces' frames the capture may drop in the kernel. Pure.
 *
 * libpcap's `any` hands a packet over once per device it passes, so a knock to this host through a
 * bridge came twice (the port, then the bridge) and the daemon decoded every frame of a flood twice
 * before DuplicateFilter dropped the second copy. Measured with the bench's bridged server at the
 * flood sender's maximum rate: ~630,000 of ~2.4 million frames lost to a full ring and 13-19 of 20
 * legitimate knocks opened, against ~7,000-27,000 lost and 20/20 with the ports' copies dropped in
 * the kernel (docs/BENCHMARKS.md section 2).
 *
 * What is safe to drop, and why:
 * - A bond slave's frames always go up through the bond: its copies are redundant.
 * - A bridge port's frames to this host go up through the bridge (a copy there). Frames bridged
 *   *through* the host are seen on the ports only; they matter only to a door with `target` (a
 *   router door) when br_netfilter hands bridged traffic to the IP hooks. Then ports are kept.
 * - An interface the config names (capture or door `interfaces`) is kept: a door tied to a port
 *   must see the port's copy (DuplicateFilter drops the master's).
 * What stays: everything else (VLANs, VRF members), which DuplicateFilter still de-duplicates.
 */
import type { Config } from '../config';
import type { Enslaved, EnslavedInterface } from '../io/enslaved';

export function skippableInterfaces(now: Enslaved, cfg: Pick<Config, 'interfaces' | 'doors'>): EnslavedInterface[] {
  const named = new Set([...cfg.interfaces, ...cfg.doors.flatMap((d) => d.interfaces ?? [])]);
  const keepBridgePorts = now.bridgeNetfilter && cfg.doors.some((d) => d.target !== undefined);
  return now.interfaces.filter((i) => !named.has(i.name) && (i.kind === 'bond' || !keepBridgePorts));
}
