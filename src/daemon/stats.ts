/** The daemon's counters: one object, read by `status` (state file) and the metrics endpoint. */

export interface DaemonStats {
  startedAt: number;
  packets: number;
  /** Frames dropped as a second capture of a packet already seen on another interface (bridges, VLANs). */
  duplicates: number;
  /** Packets the kernel dropped because the capture ring was full (limits.capture_ring). */
  captureDropped: number;
  knocks: number;
  knockSuccesses: number;
  knockResets: Record<string, number>;
  evictions: number;
  grants: number;
  revokes: number;
  spaAccepted: number;
  spaRejected: Record<string, number>;
  decodeErrors: Record<string, number>;
  nftFailures: number;
  /** Grants (and revokes) refused because a set of the door was full, by door. */
  setFull: Record<string, number>;
  /** Grants/revokes refused because MAX_QUEUE were already waiting for nft. */
  queueDropped: number;
  hookFailures: number;
  internalErrors: number;
}

export function newStats(startedAt: number): DaemonStats {
  return {
    startedAt, packets: 0, duplicates: 0, captureDropped: 0, knocks: 0, knockSuccesses: 0, knockResets: {}, evictions: 0, grants: 0, revokes: 0,
    spaAccepted: 0, spaRejected: {}, decodeErrors: {}, nftFailures: 0, setFull: {}, queueDropped: 0, hookFailures: 0, internalErrors: 0,
  };
}

export function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}
