import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, encodeBody, type SpaRequest } from '../../../src/spa/wire';
import { parseAddr } from '../../../src/core';
import { seeded } from './door-fixture';

const T = 1_767_225_600_000;

test('bodies round-trip with every optional field', () => {
  const reqs: SpaRequest[] = [
    { version: 1, tsMs: T, access: [] },
    { version: 1, tsMs: 0, access: [{ port: 65535, proto: 'udp' }, { port: 1, proto: 'tcp' }], timeoutSec: 0xffffffff },
    { version: 1, tsMs: Number.MAX_SAFE_INTEGER, access: [{ port: 22, proto: 'tcp' }], addr: parseAddr('2001:db8::1')!, name: 'a'.repeat(32) },
    { version: 1, tsMs: T, access: [], addr: parseAddr('192.0.2.1')!, timeoutSec: 60, name: 'alice@home' },
  ];
  for (const r of reqs) {
    const b = encodeBody(r);
    assert.equal(b.length % 32, 0);
    const back = decodeBody(b);
    assert.ok(back.ok, JSON.stringify(back));
    assert.deepEqual(back.value, r);
  }
});

test('the body layout matches the document byte by byte', () => {
  const b = encodeBody({ version: 1, tsMs: 0x0102030405, access: [{ port: 22, proto: 'tcp' }], addr: parseAddr('192.0.2.1')!, timeoutSec: 300, name: 'al' });
  const want = [1, 0x07, 0, 0, 0, 1, 2, 3, 4, 5, 1, 6, 0, 22, 4, 192, 0, 2, 1, 0, 0, 1, 0x2c, 2, 0x61, 0x6c];
  assert.deepEqual([...b.subarray(0, want.length)], want);
  assert.ok(b.subarray(want.length).every((x) => x === 0));
});

test('malformed bodies are rejected', () => {
  const base = [...encodeBody({ version: 1, tsMs: T, access: [{ port: 22, proto: 'tcp' }], timeoutSec: 5 })];
  const edit = (i: number, v: number) => Uint8Array.from(base.map((x, j) => (j === i ? v : x)));
  const cases: [string, Uint8Array][] = [
    ['short', new Uint8Array(10)],
    ['reserved flag', edit(1, 0x0a)],
    ['timestamp above 2^53', edit(2, 0xff)],
    ['too many services', edit(10, 17)],
    ['service count past the end', edit(10, 16)],
    ['bad protocol', edit(11, 1)],
    ['port 0', Uint8Array.from(base.map((x, j) => (j === 13 ? 0 : x)))],
    ['zero timeout', Uint8Array.from(base.map((x, j) => (j >= 14 && j < 18 ? 0 : x)))],
    ['non-zero padding', edit(31, 1)],
    ['address flag with bad family', edit(1, 0x03)],
  ];
  for (const [label, b] of cases) assert.equal(decodeBody(b).ok, false, label);
  const dup = encodeBody({ version: 1, tsMs: T, access: [{ port: 22, proto: 'tcp' }, { port: 23, proto: 'tcp' }] });
  dup[16] = 22;
  assert.equal(decodeBody(dup).ok, false, 'duplicate service');
});

test('encodeBody refuses what no server accepts', () => {
  assert.throws(() => encodeBody({ version: 1, tsMs: -1, access: [] }), RangeError);
  assert.throws(() => encodeBody({ version: 1, tsMs: T, access: [], timeoutSec: 0 }), RangeError);
  assert.throws(() => encodeBody({ version: 1, tsMs: T, access: [], name: 'no spaces' }), RangeError);
  assert.throws(() => encodeBody({ version: 1, tsMs: T, access: Array.from({ length: 17 }, (_, i) => ({ port: i + 1, proto: 'tcp' as const })) }), RangeError);
});

test('seeded random bodies never throw', () => {
  const next = seeded(42);
  for (let i = 0; i < 5000; i++) {
    const b = Uint8Array.from({ length: Math.floor(next() * 120) }, () => Math.floor(next() * 256));
    if (i % 2 === 0 && b.length > 1) b[1] = (b[1] as number) & 0x07;
    const r = decodeBody(b);
    assert.equal(typeof r.ok, 'boolean');
  }
});
