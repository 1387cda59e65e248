#!/usr/bin/env node
/**
 * knockctl as installed: runs the one-file bundle of the CLI that `make build` makes with esbuild
 * (dist/bundle/knockctl.js, from dist/src/cli/main.js), with a V8 code cache for the commands.
 *
 * Why a bundle (measured on the 2-core test machine, docs/BENCHMARKS.md has the figures): loading
 * ~200 files cost most of `check-config`'s start-up in module resolution and compilation, and the
 * resolution ran hot enough to wake V8's optimizing compiler, whose code then stayed resident in the
 * idle daemon (several MB of RSS). The bundle keeps lazy loading: a command's modules still run only
 * when that command does.
 *
 * The code cache (`<bundle>.cache`, written by writeCodeCache at build time) saves the parse of the
 * whole bundle. V8 checks a cache only against the source's length, its own version and the V8 flags,
 * so the file starts with the SHA-256 of the bundle it was made from and a cache for other content is
 * ignored. A cache V8 rejects (another node, other flags) is ignored the same way: the bundle is then
 * compiled as usual. The daemon does not use it (node's own loader runs the bundle): the cache
 * deserializes code the daemon never runs, which measured ~1 MB more idle RSS, and it starts once.
 *
 * This file is not bundled and imports node's modules only.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

export const BUNDLE = join(__dirname, '../../bundle/knockctl.js');
const DIGEST_BYTES = 32;

/** What became of the code cache: `skipped` when node's own loader ran the bundle (see run). */
export type CacheUse = 'used' | 'rejected' | 'stale' | 'absent' | 'skipped';

export const cacheFileOf = (bundle: string): string => `${bundle}.cache`;

const digest = (source: string): Buffer => createHash('sha256').update(source).digest();

/** The bundle's text as a CommonJS module body; a `#!` line (kept by esbuild from main.js) becomes a comment. */
function wrapped(source: string): string {
  return Module.wrap(source.startsWith('#!') ? `//${source.slice(2)}` : source);
}

/** Build step: the code cache of `bundle` under this process's node and V8 flags (the installed wrapper's). */
export function writeCodeCache(bundle = BUNDLE): number {
  const source = readFileSync(bundle, 'utf8');
  const data = new Script(wrapped(source), { filename: bundle }).createCachedData();
  writeFileSync(cacheFileOf(bundle), Buffer.concat([digest(source), data]));
  return data.length;
}

/** The subcommand: the first argument that is not an option (knockctl's own options take no value). */
export function subcommandOf(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/** Compiles the bundle, with its code cache when there is one made from this very bundle. */
export function compileBundle(bundle: string): { script: Script; cache: CacheUse } {
  const source = readFileSync(bundle, 'utf8');
  let cachedData: Buffer | undefined;
  let cache: CacheUse = 'absent';
  try {
    const file = readFileSync(cacheFileOf(bundle));
    if (file.length > DIGEST_BYTES && file.subarray(0, DIGEST_BYTES).equals(digest(source))) cachedData = file.subarray(DIGEST_BYTES);
    else cache = 'stale';
  } catch {
    /* no cache: compile */
  }
  const script = new Script(wrapped(source), { filename: bundle, cachedData });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected' : 'used';
  return { script, cache };
}

/** node maps stack traces through the bundle's source map only for files its own loader compiled. */
const sourceMapsEnabled = (): boolean => (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;

/**
 * Runs the bundle as the main program, the way node runs a CommonJS file. The daemon, and any run
 * with `--enable-source-maps` (stack traces in src/*.ts), go through node's own loader, without the cache.
 */
export function run(bundle = BUNDLE, args = process.argv.slice(2)): CacheUse {
  if (subcommandOf(args) === 'daemon' || sourceMapsEnabled()) {
    require(bundle);
    return 'skipped';
  }
  const { script, cache } = compileBundle(bundle);
  const m = new Module(bundle, module);
  m.filename = bundle;
  const body = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  body.call(m.exports, m.exports, createRequire(bundle), m, bundle, dirname(bundle));
  return cache;
}

if (require.main === module) {
  const use = run();
  if (process.env.KNOCKCTL_LAUNCH_DEBUG === '1') process.stderr.write(`knockctl: code cache ${use}\n`);
}
