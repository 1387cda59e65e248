import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStateStore } from '../../../src/io/state-store';
import { StateError } from '../../../src/core';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nftknock-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('read of a missing file is undefined', async (t) => {
  const store = new FsStateStore(tempDir(t));
  assert.equal(await store.read('replay'), undefined);
});

test('append creates the file with mode 0600 and appends in order', async (t) => {
  const dir = tempDir(t);
  const store = new FsStateStore(dir);
  await store.append('replay', Uint8Array.from([1, 2]));
  await store.append('replay', Uint8Array.from([3]));
  assert.deepEqual(await store.read('replay'), Uint8Array.from([1, 2, 3]));
  assert.equal(statSync(join(dir, 'replay')).mode & 0o777, 0o600);
});

test('replace swaps the whole content and leaves no temp file', async (t) => {
  const dir = tempDir(t);
  const store = new FsStateStore(dir);
  await store.append('replay', Uint8Array.from([9, 9, 9, 9]));
  await store.replace('replay', Uint8Array.from([7]));
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'replay'))), Uint8Array.from([7]));
  assert.deepEqual(readdirSync(dir), ['replay']);
  await store.replace('fresh', new Uint8Array(0));
  assert.deepEqual(await store.read('fresh'), new Uint8Array(0));
});

test('a failed replace keeps the old content and cleans up', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'replay'), Buffer.from([5]));
  const store = new FsStateStore(join(dir, 'missing-subdir'));
  await assert.rejects(store.replace('replay', Uint8Array.from([6])), StateError);
  assert.deepEqual(readdirSync(dir), ['replay']);
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'replay'))), Uint8Array.from([5]));
});

test('names with separators or dots only are refused', async (t) => {
  const store = new FsStateStore(tempDir(t));
  for (const bad of ['../x', 'a/b', '', '.', '..', '.hidden']) {
    await assert.rejects(store.read(bad), StateError, bad);
    await assert.rejects(store.append(bad, new Uint8Array(1)), StateError, bad);
  }
});

test('an unreadable file is a StateError, not undefined', async (t) => {
  if (process.getuid?.() === 0) return t.skip('root reads any file');
  const dir = tempDir(t);
  writeFileSync(join(dir, 'replay'), Buffer.from([1]));
  chmodSync(join(dir, 'replay'), 0o000);
  await assert.rejects(new FsStateStore(dir).read('replay'), StateError);
});
