/**
 * Ports: the small interfaces behind which all I/O sits. Adapters in `io/` implement them;
 * fakes in tests implement them too. Pure code receives them as arguments.
 */

/** Wall-clock and monotonic time. */
export interface Clock {
  /** Milliseconds since the epoch (wall clock: SPA timestamps, log times). */
  now(): number;
  /** Milliseconds from an arbitrary origin, never going backwards (expiry of in-memory state). */
  monotonic(): number;
}

/** One libnftables JSON command, e.g. `{add: {element: {...}}}`. */
export type NftCommand = Record<string, unknown>;

/** A libnftables JSON batch: applied by nft as one transaction, all or nothing. */
export interface NftBatch {
  readonly nftables: readonly NftCommand[];
}

/**
 * Runs nft. Contract: `apply` sends one batch as one atomic transaction and resolves when the kernel
 * has committed it, or rejects with an `NftError` carrying nft's own stderr; `check` does the same in
 * nft's check mode (`-c`, nothing is committed); `list` runs `nft -j list <what...>` and resolves with
 * the parsed JSON (`terse`: nft's `-t`, set elements left out). `attempted` names the operation for
 * error messages.
 */
export interface NftRunner {
  apply(batch: NftBatch, attempted: string): Promise<void>;
  check(batch: NftBatch, attempted: string): Promise<void>;
  list(args: readonly string[], attempted: string, opts?: { readonly terse?: boolean }): Promise<unknown>;
}

/** One captured frame: bytes as captured (possibly truncated to the snap length) and link type. */
export interface Frame {
  /** libpcap link-layer type (DLT_*): 1 Ethernet, 113 Linux SLL, 276 Linux SLL2, 12/101 raw IP. */
  readonly linkType: number;
  readonly data: Uint8Array;
  /** Capture timestamp, milliseconds since the epoch. */
  readonly at: number;
  /** The interface the packet arrived on (from the cooked v2 header), or `any` when unknown. */
  readonly ifname: string;
}

/**
 * Packet capture. `start` opens the capture with the given BPF filter (never promiscuous), keeping
 * at most `snapLen` bytes of each packet (default: headers only), and calls `onFrame` for each
 * frame; the Uint8Array is only valid during the call. `setFilter` swaps the filter (and the snap
 * length) without losing packets. `close` stops capture; no callback happens after it resolves.
 * `counters` (when the capture can tell) reports packets the kernel dropped because the ring was full.
 */
export interface Capture {
  start(filter: string, onFrame: (frame: Frame) => void, snapLen?: number): Promise<void>;
  setFilter(filter: string, snapLen?: number): Promise<void>;
  close(): Promise<void>;
  counters?(): { dropped: number };
  /**
   * Drop frames from these interface indexes in the kernel (ports and slaves whose packets also
   * arrive through their master, io/enslaved.ts); an empty list drops none. Only where frames carry
   * their interface (cooked v2); elsewhere it changes nothing.
   */
  skipInterfaces?(ifindexes: readonly number[]): Promise<void>;
}

/**
 * Small durable files under `state_dir`. `append` is fsync'd before it resolves. Paths are relative
 * names inside the state directory (no separators).
 */
export interface StateStore {
  read(name: string): Promise<Uint8Array | undefined>;
  append(name: string, data: Uint8Array): Promise<void>;
  /** Atomically replace a file (write temp, fsync, rename). */
  replace(name: string, data: Uint8Array): Promise<void>;
}

/** The structured logger (a subset of pino's API). */
export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug(obj: Record<string, unknown>, msg?: string): void;
}
