import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKeyFileMode, formatClientKeyFile, generateClientKey, parseClientKeyFile, parseServerKey, parseServerPublicKey, serverEntryOf } from '../../../src/spa';
import { referencePublicKey } from './reference-encoder';
import { SERVER_A } from './door-fixture';

const fixed = (v: number) => () => new Uint8Array(32).fill(v);

test('client key files round-trip for both kinds', () => {
  for (const type of ['aead', 'ed25519'] as const) {
    const k = generateClientKey(type, fixed(7));
    const text = formatClientKeyFile({ key: k });
    assert.match(text, new RegExp(`^# .*\\nnftknock-spa-key v2\\nmode: ${type}\\nsecret: base64:[A-Za-z0-9+/]{43}=\\n$`));
    const back = parseClientKeyFile(text);
    assert.ok(back.ok);
    assert.deepEqual(back.value, { key: k });
    const full = { key: k, server: SERVER_A.pub, door: 'ssh-spa', port: 40000, host: 'gw.example.org', name: 'alice', requireAddress: true };
    const again = parseClientKeyFile(formatClientKeyFile(full));
    assert.ok(again.ok);
    assert.deepEqual(again.value, full);
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
  const good = formatClientKeyFile({ key: generateClientKey('aead', fixed(3)), server: SERVER_A.pub, door: 'ssh-spa', port: 62201 });
  const cases: [string, RegExp][] = [
    ['', /first line/],
    ['hello', /first line/],
    [good.replace('mode: aead', 'mode: rsa'), /mode/],
    [good.replace('v2', 'v1'), /first line/],
    [good.replace('secret: base64:', 'secret: hex:'), /secret: must be "base64:"/],
    [good.replace(/=\n(server)/, '\n$1'), /secret: must be/],
    [good.replace('base64:A', 'base64:!'), /secret: must be/],
    [`${good}secret: base64:${Buffer.alloc(32, 3).toString('base64')}\n`, /twice/],
    [good.replace('door: ssh-spa', 'door: ssh spa'), /door/],
    [good.replace('port: 62201', 'port: 99999'), /port/],
    [good.replace('server: x25519:', 'server: x25519:AB'), /server identity/],
    [`${good}colour: blue\n`, /not one of/],
    // A pasted bare key on a line of its own is refused without being echoed.
    [`${good}AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n`, /a line without "field: value"/],
  ];
  for (const [c, why] of cases) {
    const r = parseClientKeyFile(c);
    assert.equal(r.ok, false, JSON.stringify(c));
    if (!r.ok) {
      assert.match(r.detail ?? '', why, JSON.stringify(c));
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
