import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadConfigText } from '../../../src/config';
import { ConfigError } from '../../../src/core';
import { onCurve, weakAeadKey, weakEd25519Key } from '../../../src/config/weak-keys';
import { generateClientKey, serverEntryOf } from '../../../src/spa';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const rnd = (label: string): Uint8Array => Uint8Array.from(createHash('sha256').update(label).digest());

function door(client: string, spa = ''): string {
  return `doors:\n  s:\n    spa:\n${spa}      clients: { a: ${client} }\n    open: ["22/tcp"]\n`;
}

function issues(text: string): { path: string; message: string }[] {
  try {
    loadConfigText(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => ({ path: i.path, message: i.message }));
  }
  return [];
}

test('weak aead keys: zero, repeated, patterned, counting, few values, text', () => {
  const cases: [string, Uint8Array][] = [
    ['all zero', new Uint8Array(32)],
    ['one byte', new Uint8Array(32).fill(0x41)],
    ['2-byte pattern', Uint8Array.from({ length: 32 }, (_, i) => (i % 2 ? 0xde : 0xad))],
    ['16-byte pattern', Uint8Array.from({ length: 32 }, (_, i) => (rnd('p')[i % 16] as number))],
    ['counting', Uint8Array.from({ length: 32 }, (_, i) => i)],
    ['counting down', Uint8Array.from({ length: 32 }, (_, i) => 255 - 3 * i)],
    ['few values', Uint8Array.from({ length: 32 }, (_, i) => (rnd('f')[i % 8] as number) ^ (i & 1))],
    ['text', Uint8Array.from(Buffer.from('correct horse battery staple 123'))],
  ];
  for (const [label, k] of cases) assert.ok(weakAeadKey(k), label);
  for (let i = 0; i < 2000; i++) assert.equal(weakAeadKey(rnd(`key ${i}`)), undefined, `random key ${i}`);
  for (let i = 0; i < 50; i++) assert.equal(weakAeadKey((generateClientKey('aead') as { key: Uint8Array }).key), undefined);
});

test('Ed25519: the 8 small-order encodings, non-canonical ones and points off the curve are refused', () => {
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000080',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  ];
  for (const h of smallOrder) assert.match(weakEd25519Key(hex(h)) ?? '', /small order/, h);
  assert.match(weakEd25519Key(hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')) ?? '', /canonical/, 'y = p');
  assert.match(weakEd25519Key(hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')) ?? '', /canonical/, 'y = p + 1');
  assert.match(weakEd25519Key(hex('0100000000000000000000000000000000000000000000000000000000000080')) ?? '', /small order|canonical/, 'negative zero identity');
  // The order-8 y values are on the curve (the table is right), and random keys pass.
  assert.ok(onCurve(BigInt('0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826')).ok);
  for (let i = 0; i < 30; i++) {
    const e = serverEntryOf(generateClientKey('ed25519')) as { public_key: string };
    assert.equal(weakEd25519Key(Uint8Array.from(Buffer.from(e.public_key.slice(8), 'base64'))), undefined);
  }
  let off = 0;
  for (let i = 0; i < 200; i++) if (weakEd25519Key(rnd(`pt ${i}`))) off++;
  assert.ok(off > 50 && off < 150, `about half of random strings are not on the curve: ${off}/200`);
});

test('the config refuses weak keys at the key\'s path without echoing it', () => {
  const zero = `base64:${b64(new Uint8Array(32))}`;
  const found = issues(door(`{ key: "${zero}" }`));
  assert.deepEqual(found.map((i) => i.path), ['doors.s.spa.clients.a.key']);
  assert.match(found[0]?.message ?? '', /all zero.*knockctl keygen/);
  assert.doesNotMatch(found[0]?.message ?? '', /AAAA/);
  const so = issues(door(`{ public_key: "ed25519:${b64(hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'))}" }`));
  assert.deepEqual(so.map((i) => i.path), ['doors.s.spa.clients.a.public_key']);
  const good = serverEntryOf(generateClientKey('aead')) as { key: string };
  assert.deepEqual(issues(door(`{ key: "${good.key}" }`)), []);
});

test('SPA bounds: window, max_timeout, nat_prefix, allow_address, require_address', () => {
  const k = (serverEntryOf(generateClientKey('aead')) as { key: string }).key;
  const c = `{ key: "${k}" }`;
  assert.deepEqual(issues(door(c, '      window: 2h\n')).map((i) => i.path), ['doors.s.spa.window']);
  assert.deepEqual(issues(door(c, '      max_timeout: 30d\n')).map((i) => i.path), ['doors.s.spa.max_timeout']);
  assert.deepEqual(issues(door(c, '      allow_address: true\n      require_address: true\n')).map((i) => i.path), ['doors.s.spa.require_address']);
  const warned = (spa: string): string[] => loadConfigText(door(c, spa)).warnings.map((w) => w.path);
  assert.deepEqual(warned('      window: 10m\n'), ['doors.s.spa.window']);
  assert.deepEqual(warned('      max_timeout: 2d\n'), ['doors.s.spa.max_timeout']);
  assert.deepEqual(warned('      nat_prefix: { ipv4: 16, ipv6: 40 }\n'), ['doors.s.spa.nat_prefix.ipv4', 'doors.s.spa.nat_prefix.ipv6']);
  assert.deepEqual(warned('      allow_address: true\n'), ['doors.s.spa.allow_address']);
  assert.deepEqual(warned('      require_address: true\n'), []);
  const cfg = loadConfigText(door(c, '      require_address: true\n')).config;
  assert.equal(cfg.doors[0]?.kind === 'spa' && cfg.doors[0].spa.requireAddress, true);
  const empty = loadConfigText('doors:\n  s:\n    spa: { clients: {} }\n    open: ["22/tcp"]\n');
  assert.deepEqual(empty.warnings.map((w) => w.path), ['doors.s.spa.clients'], 'a door without clients yet loads, with a warning');
});
