/**
 * The `nft` process: the single choke point through which every batch reaches the kernel.
 *
 * Kernel fact (DESIGN.md): `nft -j -f -` opens /dev/stdin, which fails with ENXIO when stdin is the
 * socket pair Node's `spawn` gives a child. So a batch is passed as one argument (`nft -j '<json>'`,
 * at most 128 KiB: MAX_ARG_STRLEN) or, when larger, through a private temporary file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftError, type NftBatch, type NftRunner } from '../core';

const MAX_ARG = 128 * 1024 - 1;

export interface NftProcessOptions {
  /** Path or name of the nft binary. */
  readonly binary?: string;
  /** Kill nft after this many milliseconds. */
  readonly timeoutMs?: number;
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(binary: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (signal ? `\nnft killed by ${signal} after ${timeoutMs} ms` : '');
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

/** Map nft's failure to an NftError whose code says what an admin should do. */
export function nftFailure(attempted: string, status: number | null, stderr: string): NftError {
  let code = 'ERR_NFT';
  if (/Operation not permitted|Permission denied/i.test(stderr)) {
    code = 'ERR_NFT_PERMISSION';
    stderr = `${stderr.trim()}\n(knockctl needs root or CAP_NET_ADMIN to change the firewall)`;
  } else if (/No such file or directory/.test(stderr)) code = 'ERR_NFT_NOT_FOUND';
  return new NftError(attempted, status, stderr, { code });
}

/** NftRunner that spawns the nft binary (no shell, arguments only). */
export class NftProcess implements NftRunner {
  private readonly binary: string;
  private readonly timeoutMs: number;

  constructor(opts: NftProcessOptions = {}) {
    this.binary = opts.binary ?? 'nft';
    this.timeoutMs = opts.timeoutMs ?? 15000;
  }

  apply(batch: NftBatch, attempted: string): Promise<void> {
    return this.send([], batch, attempted);
  }

  check(batch: NftBatch, attempted: string): Promise<void> {
    return this.send(['-c'], batch, attempted);
  }

  async list(args: readonly string[], attempted: string, opts: { readonly terse?: boolean } = {}): Promise<unknown> {
    const r = await this.exec([...(opts.terse ? ['-t'] : []), '-j', 'list', ...args], attempted);
    try {
      return JSON.parse(r.stdout) as unknown;
    } catch (e) {
      throw new NftError(attempted, r.status, `nft printed output that is not JSON: ${r.stdout.slice(0, 200)}`, { cause: e });
    }
  }

  /** Run `nft -f FILE` on nft's own text syntax (used to restore a saved table). */
  async applyText(text: string, attempted: string): Promise<void> {
    await this.withTempFile(text, (file) => this.exec(['-f', file], attempted));
  }

  private async send(flags: string[], batch: NftBatch, attempted: string): Promise<void> {
    if (batch.nftables.length === 0) return;
    const json = JSON.stringify(batch);
    if (Buffer.byteLength(json) <= MAX_ARG) {
      await this.exec([...flags, '-j', json], attempted);
      return;
    }
    await this.withTempFile(json, (file) => this.exec([...flags, '-j', '-f', file], attempted));
  }

  private async withTempFile<T>(content: string, fn: (file: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'knockctl-'));
    try {
      const file = join(dir, 'batch');
      await writeFile(file, content, { mode: 0o600 });
      return await fn(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async exec(args: string[], attempted: string): Promise<RunResult> {
    let r: RunResult;
    try {
      r = await run(this.binary, args, this.timeoutMs);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') {
        throw new NftError(attempted, null, `${this.binary}: command not found (install the nftables package: apt-get install nftables)`, { cause: e, code: 'ERR_NFT_MISSING' });
      }
      if (err.code === 'EACCES') throw new NftError(attempted, null, `${this.binary}: permission denied`, { cause: e, code: 'ERR_NFT_PERMISSION' });
      throw new NftError(attempted, null, err.message, { cause: e });
    }
    if (r.status !== 0) throw nftFailure(attempted, r.status, r.stderr);
    return r;
  }
}
