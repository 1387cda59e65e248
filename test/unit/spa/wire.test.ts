import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, encodeBody, type SpaRequest } from '../../../src/spa/wire';
import { parseAddr } from '../../../src/core';
import { seeded } from './door-fixture';

const T = 1_767_225_600_000;

test('bodies round-trip with every optional field; id + body is a multiple of 32', () => {
  const reqs: SpaRequest[] = [
    { version: 2, tsMs: T, access: [] },
    { version: 2, tsMs: 0, access: ['65535/udp', '1/tcp'], timeoutSec: 0xffffffff },
    { version: 2, tsMs: Number.MAX_SAFE_INTEGER, access: ['22/tcp', '192.168.1.10:22/tcp', '2222/tcp=>192.168.1.10:22'], addr: parseAddr('2001:db8::1')! },
    { version: 2, tsMs: T, access: [], addr: parseAddr('192.0.2.1')!, timeoutSec: 60 },
  ];
  for (const r of reqs) {
    const b = encodeBody(r);
    assert.equal((16 + b.length) % 32, 0);
    const back = decodeBody(b);
    assert.ok(back.ok, JSON.stringify(back));
    assert.deepEqual(back.value, r);
  }
});

test('the body layout matches the document byte by byte', () => {
  const b = encodeBody({ version: 2, tsMs: 0x0102030405, access: ['22/tcp'], addr: parseAddr('192.0.2.1')!, timeoutSec: 300 });
  const want = [2, 0x03, 0, 0, 0, 1, 2, 3, 4, 5, 1, 6, 0x32, 0x32, 0x2f, 0x74, 0x63, 0x70, 4, 192, 0, 2, 1, 0, 0, 1, 0x2c];
  assert.deepEqual([...b.subarray(0, want.length)], want);
  assert.equal(b.length, 48);
  assert.ok(b.subarray(want.length).every((x) => x === 0));
});

test('malformed bodies are rejected', () => {
  const base = [...encodeBody({ version: 2, tsMs: T, access: ['22/tcp'], timeoutSec: 5 })];
  const edit = (i: number, v: number) => Uint8Array.from(base.map((x, j) => (j === i ? v : x)));
  const cases: [string, Uint8Array][] = [
    ['short', new Uint8Array(10)],
    ['reserved flag', edit(1, 0x06)],
    ['timestamp above 2^53', edit(2, 0xff)],
    ['too many services', edit(10, 17)],
    ['service count past the end', edit(10, 16)],
    ['empty service text', edit(11, 0)],
    ['service text longer than 63', edit(11, 64)],
    ['unprintable service text', edit(12, 0x20)],
    ['zero timeout', Uint8Array.from(base.map((x, j) => (j >= 18 && j < 22 ? 0 : x)))],
    ['non-zero padding', edit(base.length - 1, 1)],
    ['address flag with bad family', edit(1, 0x03)],
  ];
  for (const [label, b] of cases) assert.equal(decodeBody(b).ok, false, label);
  const dup = encodeBody({ version: 2, tsMs: T, access: ['22/tcp', '23/tcp'] });
  dup[20] = 0x32; // "23/tcp" -> "22/tcp"
  assert.equal(decodeBody(dup).ok, false, 'duplicate service');
});

test('encodeBody refuses what no server accepts', () => {
  assert.throws(() => encodeBody({ version: 2, tsMs: -1, access: [] }), RangeError);
  assert.throws(() => encodeBody({ version: 2, tsMs: T, access: [], timeoutSec: 0 }), RangeError);
  assert.throws(() => encodeBody({ version: 2, tsMs: T, access: ['22 /tcp'] }), RangeError);
  assert.throws(() => encodeBody({ version: 2, tsMs: T, access: ['x'.repeat(64)] }), RangeError);
  assert.throws(() => encodeBody({ version: 2, tsMs: T, access: ['22/tcp', '22/tcp'] }), RangeError);
  assert.throws(() => encodeBody({ version: 2, tsMs: T, access: Array.from({ length: 17 }, (_, i) => `${i + 1}/tcp`) }), RangeError);
});

test('seeded random bodies never throw', () => {
  const next = seeded(42);
  for (let i = 0; i < 5000; i++) {
    const b = Uint8Array.from({ length: Math.floor(next() * 120) }, () => Math.floor(next() * 256));
    if (i % 2 === 0 && b.length > 1) b[1] = (b[1] as number) & 0x03;
    const r = decodeBody(b);
    assert.equal(typeof r.ok, 'boolean');
  }
});
