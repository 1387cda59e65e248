import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKeyFileMode, formatClientKeyFile, generateClientKey, parseClientKeyFile, parseServerKey, parseServerPublicKey, serverEntryOf } from '../../../src/spa';
import { referencePublicKey } from './reference-encoder';

const fixed = (v: number) => () => new Uint8Array(32).fill(v);

test('client key files round-trip for both kinds', () => {
  for (const type of ['aead', 'ed25519'] as const) {
    const k = generateClientKey(type, fixed(7));
    const text = formatClientKeyFile(k);
    assert.match(text, new RegExp(`^nftknock-spa-key v1 ${type} base64:[A-Za-z0-9+/]{43}=\\n$`));
    const back = parseClientKeyFile(text);
    assert.ok(back.ok);
    assert.deepEqual(back.value, k);
  }
});

test('generated keys come from the random source', () => {
  const a = generateClientKey('aead');
  const b = generateClientKey('aead');
  assert.notDeepEqual(a, b);
  assert.throws(() => generateClientKey('aead', () => new Uint8Array(31)), RangeError);
});

test('server entries: the AEAD key itself, the Ed25519 public key of the seed', () => {
  const a = serverEntryOf(generateClientKey('aead', fixed(1)));
  assert.deepEqual(a, { key: `base64:${Buffer.alloc(32, 1).toString('base64')}` });
  const e = serverEntryOf(generateClientKey('ed25519', fixed(7)));
  assert.deepEqual(e, { public_key: `ed25519:${referencePublicKey(Buffer.alloc(32, 7).toString('base64'))}` });
  // Matches the config schema patterns.
  assert.match((a as { key: string }).key, /^base64:[A-Za-z0-9+/]{43}=$/);
  assert.match((e as { public_key: string }).public_key, /^ed25519:[A-Za-z0-9+/]{43}=$/);
  const parsed = parseServerPublicKey((e as { public_key: string }).public_key);
  assert.ok(parsed.ok);
  assert.equal(parsed.value.length, 32);
});

test('bad key files are refused with the expected form, never echoing key material', () => {
  const good = formatClientKeyFile(generateClientKey('aead', fixed(3)));
  const cases = [
    '',
    'hello',
    good.replace('aead', 'rsa'),
    good.replace('v1', 'v2'),
    good.replace('base64:', 'hex:'),
    good.replace(/=\n$/, '\n'),
    good.replace('base64:A', 'base64:!'),
    `${good}${good}`,
  ];
  for (const c of cases) {
    const r = parseClientKeyFile(c);
    assert.equal(r.ok, false, JSON.stringify(c));
    if (!r.ok) {
      assert.match(r.detail ?? '', /base64:/);
      assert.doesNotMatch(r.detail ?? '', /AwMDAwMD/);
    }
  }
});

test('server key texts are checked for prefix and length', () => {
  assert.ok(parseServerKey(`base64:${Buffer.alloc(32).toString('base64')}`).ok);
  assert.equal(parseServerKey(`base64:${Buffer.alloc(31).toString('base64')}`).ok, false);
  assert.equal(parseServerKey(`ed25519:${Buffer.alloc(32).toString('base64')}`).ok, false);
  assert.equal(parseServerPublicKey(`base64:${Buffer.alloc(32).toString('base64')}`).ok, false);
});

test('key file mode: owner only; otherwise a message with chmod 600', () => {
  for (const m of [0o100600, 0o100400, 0o100700]) assert.ok(checkKeyFileMode(m, '/k').ok, m.toString(8));
  for (const m of [0o100640, 0o100604, 0o100644, 0o100660, 0o100602, 0o100610]) {
    const r = checkKeyFileMode(m, '/home/a/.config/knockctl/gw.key');
    assert.equal(r.ok, false, m.toString(8));
    if (!r.ok) assert.match(r.detail ?? '', /chmod 600 \/home\/a\/\.config\/knockctl\/gw\.key/);
  }
});
