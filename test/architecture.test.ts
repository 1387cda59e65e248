/**
 * The architecture, checked: pure folders do no I/O, dependencies point inward, no import cycles.
 * Reads the TypeScript sources (not dist) so the check sees what people wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const SRC = resolve(__dirname, '../../src');
const PURE = ['core', 'packet', 'knock', 'spa', 'nft', 'config'];
/** Which of our folders each folder may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  packet: ['core'],
  knock: ['core', 'config'],
  spa: ['core', 'config'],
  nft: ['core', 'config'],
  config: ['core'],
  log: ['core'],
  io: ['core', 'log'],
  daemon: ['core', 'config', 'packet', 'knock', 'spa', 'nft', 'log', 'io'],
  cli: ['core', 'config', 'packet', 'knock', 'spa', 'nft', 'log', 'io', 'daemon'],
};
const IO_MODULES = /^(node:)?(fs|fs\/promises|child_process|net|dgram|dns|os|process|timers|worker_threads|cluster|http|https)$|^koffi$|^pino$/;
const IO_CALLS = /\bDate\.now\(|\bnew Date\(\)|\bsetTimeout\(|\bsetInterval\(|\bprocess\.|\bMath\.random\(/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(src: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(src); m; m = re.exec(src)) out.push((m[1] ?? m[2] ?? m[3]) as string);
  return out;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

const all = files(SRC);
const folderOf = (f: string): string => relative(SRC, f).split('/')[0] as string;

test('every source folder is known to the architecture check', () => {
  for (const f of all) {
    const folder = folderOf(f);
    if (folder.endsWith('.ts')) continue;
    assert.ok(folder in ALLOWED, `src/${folder} is not listed in test/architecture.test.ts`);
  }
});

test('pure folders import no I/O modules and call no clocks, timers or process', () => {
  const bad: string[] = [];
  for (const f of all.filter((x) => PURE.includes(folderOf(x)))) {
    const src = readFileSync(f, 'utf8');
    for (const i of imports(src)) if (IO_MODULES.test(i)) bad.push(`${relative(SRC, f)} imports ${i}`);
    const code = stripComments(src);
    const m = IO_CALLS.exec(code);
    if (m) bad.push(`${relative(SRC, f)} uses ${m[0]}`);
  }
  assert.deepEqual(bad, []);
});

test('dependencies point inward', () => {
  const bad: string[] = [];
  for (const f of all) {
    const from = folderOf(f);
    for (const i of imports(readFileSync(f, 'utf8'))) {
      if (!i.startsWith('.')) continue;
      const target = resolve(dirname(f), i);
      const to = relative(SRC, target).split('/')[0] as string;
      if (to.startsWith('..')) continue;
      if (to !== from && !ALLOWED[from]?.includes(to.replace(/\.ts$/, ''))) bad.push(`${relative(SRC, f)} → ${i}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no import cycles between source files', () => {
  const graph = new Map<string, string[]>();
  const norm = (p: string): string | undefined => {
    for (const c of [`${p}.ts`, join(p, 'index.ts')]) if (all.includes(c)) return c;
    return all.includes(p) ? p : undefined;
  };
  for (const f of all) {
    const deps = imports(readFileSync(f, 'utf8'))
      .filter((i) => i.startsWith('.'))
      .map((i) => norm(resolve(dirname(f), i)))
      .filter((x): x is string => !!x);
    graph.set(f, deps);
  }
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (n: string, stack: string[]): void => {
    state.set(n, 1);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(' → '));
      else if (!state.has(d)) visit(d, [...stack, d]);
    }
    state.set(n, 2);
  };
  for (const f of all) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});
