import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockStateDir, parseFlockHolder, StateDirLockedError } from '../../../src/io/state-lock';

test('a second lock of one state_dir fails naming the dir, pid, table and netns; after release it is free again; no file is created', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const netns = readlinkSync('/proc/self/ns/net');
  writeFileSync(join(dir, `status-kt-${/\d+/.exec(netns)![0]}.json`), JSON.stringify({ pid: process.pid, table: 'kt', netns }));
  const first = lockStateDir(dir);
  let err: unknown;
  try {
    lockStateDir(dir);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StateDirLockedError, String(err));
  assert.equal(err.code, 'ERR_STATE_LOCKED');
  assert.deepEqual(err.holder, { pid: process.pid, table: 'kt', netns });
  assert.match(err.message, new RegExp(`^state_dir ${dir} is in use by another knockctl daemon \\(pid ${process.pid}, table kt, netns net:\\[\\d+\\]\\)`));
  assert.doesNotMatch(err.message, /\n/);
  assert.deepEqual(readdirSync(dir), [`status-kt-${/\d+/.exec(netns)![0]}.json`], 'locking wrote nothing');
  first.release();
  lockStateDir(dir).release();
});

test('/proc/locks: the WRITE flock on the device and inode gives the holder; other lines do not', () => {
  const locks = [
    '1: POSIX  ADVISORY  WRITE 111 fe:00:260072 0 EOF',
    '2: FLOCK  ADVISORY  WRITE 222 fe:01:260072 0 EOF',
    '3: FLOCK  ADVISORY  WRITE 333 fe:00:260073 0 EOF',
    '4: FLOCK  ADVISORY  WRITE 444 fe:00:260072 0 EOF',
  ].join('\n');
  assert.equal(parseFlockHolder(locks, 0xfe00, 260072), 444);
  assert.equal(parseFlockHolder(locks, 0xfe00, 1), undefined);
  assert.equal(parseFlockHolder('', 0xfe00, 260072), undefined);
});
