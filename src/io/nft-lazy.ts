/**
 * An NftRunner that picks its transport on first use: libnftables in process when it loads
 * (nft-lib.ts), the nft process otherwise. The daemon idles without libnftables mapped and its
 * context allocated (~6 MB of RSS measured on a fresh daemon); the first grant pays the load once
 * (a few milliseconds).
 */
import type { NftBatch, NftRunner } from '../core';

export interface LazyNftOptions {
  /** Opens the preferred transport, or says why it cannot (NftLib.open). */
  readonly open: () => { runner?: NftRunner; reason?: string };
  readonly fallback: () => NftRunner;
  /** Told once which transport was chosen: `libnftables` or `nft process`, and why not the first. */
  readonly onChosen?: (transport: 'libnftables' | 'nft process', reason?: string) => void;
}

export class LazyNft implements NftRunner {
  private runner: NftRunner | undefined;

  constructor(private readonly opts: LazyNftOptions) {}

  /** Whether the transport has been chosen yet (tests, status). */
  get loaded(): boolean {
    return this.runner !== undefined;
  }

  apply(batch: NftBatch, attempted: string): Promise<void> {
    return this.get().apply(batch, attempted);
  }

  check(batch: NftBatch, attempted: string): Promise<void> {
    return this.get().check(batch, attempted);
  }

  list(args: readonly string[], attempted: string, opts?: { readonly terse?: boolean }): Promise<unknown> {
    return this.get().list(args, attempted, opts);
  }

  private get(): NftRunner {
    if (this.runner) return this.runner;
    const r = this.opts.open();
    this.runner = r.runner ?? this.opts.fallback();
    this.opts.onChosen?.(r.runner ? 'libnftables' : 'nft process', r.reason);
    return this.runner;
  }
}
