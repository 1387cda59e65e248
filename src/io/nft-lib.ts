/**
 * NftRunner in process, through libnftables (the library the `nft` binary is a shell around),
 * reached with the koffi FFI. One `nft` process costs ~3.3 ms per batch; the same JSON through
 * libnftables ~0.05-0.07 ms (DESIGN.md), and a grant is on the knock-to-open path.
 *
 * The calls are synchronous (they block the event loop for that fraction of a millisecond) and act in
 * the calling process's network namespace, as the `nft` binary would. Errors carry libnftables' own
 * message, mapped like the binary's (nftFailure).
 */
import { NftError, type NftBatch, type NftRunner } from '../core';
import { nftFailure } from './nft-runner';
import { koffi } from './koffi';

/** NFT_CTX_OUTPUT_JSON and NFT_CTX_OUTPUT_TERSE in libnftables' output flags (nftables/libnftables.h). */
const OUTPUT_JSON = 1 << 4;
const OUTPUT_TERSE = 1 << 11;

interface Lib {
  ctx: unknown;
  run(ctx: unknown, cmd: string): number;
  out(ctx: unknown): string | null;
  err(ctx: unknown): string | null;
  dryRun(ctx: unknown, on: boolean): void;
  setFlags(ctx: unknown, flags: number): void;
}

function load(): Lib {
  // Loaded here, not at import time: a host without koffi or libnftables still has NftProcess.
  const lib = koffi().load('libnftables.so.1');
  const ctxNew = lib.func('void *nft_ctx_new(uint32_t flags)');
  const setFlags = lib.func('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)');
  const bufferOut = lib.func('int nft_ctx_buffer_output(void *ctx)');
  const bufferErr = lib.func('int nft_ctx_buffer_error(void *ctx)');
  const ctx = ctxNew(0);
  if (!ctx) throw new Error('nft_ctx_new failed');
  setFlags(ctx, OUTPUT_JSON);
  bufferOut(ctx);
  bufferErr(ctx);
  return {
    ctx,
    run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)') as Lib['run'],
    out: lib.func('const char *nft_ctx_get_output_buffer(void *ctx)') as Lib['out'],
    err: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)') as Lib['err'],
    dryRun: lib.func('void nft_ctx_set_dry_run(void *ctx, bool dry)') as Lib['dryRun'],
    setFlags: setFlags as Lib['setFlags'],
  };
}

export class NftLib implements NftRunner {
  private constructor(private readonly lib: Lib) {}

  /** The in-process transport, or undefined (with the reason) when koffi or libnftables cannot load. */
  static open(): { runner?: NftLib; reason?: string } {
    try {
      return { runner: new NftLib(load()) };
    } catch (e) {
      return { reason: (e as Error).message.split('\n')[0] };
    }
  }

  async apply(batch: NftBatch, attempted: string): Promise<void> {
    if (batch.nftables.length === 0) return;
    this.exec(JSON.stringify(batch), attempted);
  }

  async check(batch: NftBatch, attempted: string): Promise<void> {
    if (batch.nftables.length === 0) return;
    this.lib.dryRun(this.lib.ctx, true);
    try {
      this.exec(JSON.stringify(batch), attempted);
    } finally {
      this.lib.dryRun(this.lib.ctx, false);
    }
  }

  async list(args: readonly string[], attempted: string, opts: { readonly terse?: boolean } = {}): Promise<unknown> {
    if (opts.terse) this.lib.setFlags(this.lib.ctx, OUTPUT_JSON | OUTPUT_TERSE);
    let out: string;
    try {
      out = this.exec(['list', ...args].join(' '), attempted);
    } finally {
      if (opts.terse) this.lib.setFlags(this.lib.ctx, OUTPUT_JSON);
    }
    try {
      return JSON.parse(out) as unknown;
    } catch (e) {
      throw new NftError(attempted, 0, `libnftables printed output that is not JSON: ${out.slice(0, 200)}`, { cause: e });
    }
  }

  private exec(cmd: string, attempted: string): string {
    const rc = this.lib.run(this.lib.ctx, cmd);
    const out = this.lib.out(this.lib.ctx) ?? '';
    const err = this.lib.err(this.lib.ctx) ?? '';
    if (rc !== 0) throw nftFailure(attempted, rc, err);
    return out;
  }
}
