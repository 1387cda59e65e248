/** writeFileAtomicSync: a whole file or nothing, never over an existing file without force, mode 0600. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../../../src/io/atomic-file';
import { UsageError } from '../../../src/core';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'knockctl-atomic-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const mode = (p: string): number => statSync(p).mode & 0o777;

test('a new file gets the data and mode 0600 by default, or the mode asked for', (t) => {
  const d = dir(t);
  writeFileAtomicSync(join(d, 'a.yaml'), 'table: kt\n');
  assert.equal(readFileSync(join(d, 'a.yaml'), 'utf8'), 'table: kt\n');
  assert.equal(mode(join(d, 'a.yaml')), 0o600);
  writeFileAtomicSync(join(d, 'b.bin'), new Uint8Array([1, 2, 3]), { mode: 0o640 });
  assert.deepEqual([...readFileSync(join(d, 'b.bin'))], [1, 2, 3]);
  assert.equal(mode(join(d, 'b.bin')), 0o640 & ~process.umask());
  assert.deepEqual(readdirSync(d).sort(), ['a.yaml', 'b.bin'], 'no temp file left behind');
});

test('an existing target is a usage error without force, and stays as it was', (t) => {
  const d = dir(t);
  const f = join(d, 'config.yaml');
  writeFileSync(f, 'old\n', { mode: 0o644 });
  assert.throws(() => writeFileAtomicSync(f, 'new\n'), (e: unknown) => e instanceof UsageError && /config\.yaml exists; pass --force to overwrite/.test(e.message));
  assert.equal(readFileSync(f, 'utf8'), 'old\n');
  writeFileAtomicSync(f, 'new\n', { force: true });
  assert.equal(readFileSync(f, 'utf8'), 'new\n');
  assert.equal(mode(f), 0o600, 'the replacement has the new mode, not the old file\'s 0644');
});

test('a failed rename (the target is a directory) leaves the target and no temp file', (t) => {
  const d = dir(t);
  const target = join(d, 'out');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'x');
  assert.throws(() => writeFileAtomicSync(target, 'data', { force: true }));
  assert.equal(readFileSync(join(target, 'keep'), 'utf8'), 'x');
  assert.deepEqual(readdirSync(d), ['out']);
});

test('a write that fails half-way (file size limit) leaves the old file whole, and no temp file', (t) => {
  const d = dir(t);
  const f = join(d, 'config.yaml');
  writeFileSync(f, 'old config\n');
  chmodSync(f, 0o600);
  // RLIMIT_FSIZE of 1 block: write(2) stops short, then fails with EFBIG (SIGXFSZ is handled).
  const mod = resolve(__dirname, '../../../src/io/atomic-file.js');
  const code = `process.on('SIGXFSZ',()=>{});const {writeFileAtomicSync}=require(${JSON.stringify(mod)});` +
    `try{writeFileAtomicSync(${JSON.stringify(f)},'x'.repeat(200000),{force:true});console.log('written')}catch(e){console.log(e.code)}`;
  const r = spawnSync('sh', ['-c', `ulimit -f 1 && exec "${process.execPath}" -e "$0"`, code], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'EFBIG', r.stderr);
  assert.equal(readFileSync(f, 'utf8'), 'old config\n', 'the old file is untouched');
  assert.deepEqual(readdirSync(d), ['config.yaml'], 'the temp file is removed');
});
