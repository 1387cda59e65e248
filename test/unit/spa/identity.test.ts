import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CostLimiter, formatIdentityFile, formatServerIdentity, generateIdentity, identityFingerprint, parseIdentityFile, parsePublicAddress,
  parseServerIdentity, sourceKey,
} from '../../../src/spa';
import { parseAddr } from '../../../src/core';
import { x25519Public } from './reference-encoder';

test('identity files round-trip; the public key is X25519 of the private one (RFC 7748 vector)', () => {
  const priv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
  const id = generateIdentity(() => priv);
  assert.equal(Buffer.from(id.pub).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  const back = parseIdentityFile(formatIdentityFile(id));
  assert.ok(back.ok);
  assert.deepEqual(back.value, id);
  assert.equal(x25519Public(priv).toString('hex'), Buffer.from(id.pub).toString('hex'), 'the reference encoder agrees');
  assert.notDeepEqual(generateIdentity().pub, generateIdentity().pub);
});

test('bad identity files and texts are refused without echoing them', () => {
  for (const t of ['', 'x', formatIdentityFile(generateIdentity()).replace('v2', 'v1'), 'nftknock-spa-identity v2 x25519 base64:AAAA\n']) {
    const r = parseIdentityFile(t);
    assert.equal(r.ok, false);
    if (!r.ok) assert.doesNotMatch(r.detail ?? '', /AAAA/);
  }
  const id = generateIdentity();
  const text = formatServerIdentity(id.pub);
  assert.match(text, /^x25519:[A-Za-z0-9+/]{43}=$/);
  const p = parseServerIdentity(text);
  assert.ok(p.ok);
  assert.deepEqual(p.value, id.pub);
  assert.equal(parseServerIdentity(text.replace('x25519:', 'ed25519:')).ok, false);
  assert.match(identityFingerprint(id.pub), /^[0-9a-f]{16}$/);
});

test('cost limiter: per-source burst and rate, a global cap, bounded sources', () => {
  const l = new CostLimiter({ perSourceRate: 2, perSourceBurst: 4, globalRate: 1, globalBurst: 6, maxSources: 3 });
  const t = 1_000_000;
  assert.deepEqual([1, 2, 3, 4, 5].map(() => l.take('a', t)), [true, true, true, true, false], 'burst of 4');
  assert.equal(l.take('a', t + 499), false);
  assert.equal(l.take('a', t + 500), true, 'one token per 500 ms at 2/s');
  assert.deepEqual([l.take('b', t + 500), l.take('b', t + 500)], [true, false], 'b has tokens, the global bucket (6, 1/s) is spent');
  assert.equal(l.take('b', t + 1000), true, 'the global bucket refills at 1/s');
  // Idle sources are forgotten when the table is full; a newcomer is still limited by the global bucket.
  const m = new CostLimiter({ perSourceRate: 1, perSourceBurst: 1, globalRate: 1000, globalBurst: 1000, maxSources: 2 });
  assert.equal(m.take('x', t), true);
  assert.equal(m.take('y', t), true);
  assert.equal(m.take('z', t), true, 'no slot: the global budget alone');
  assert.equal(m.trackedSources, 2);
  assert.equal(m.take('z2', t + 5000), true);
  assert.ok(m.trackedSources <= 2);
});

test('the limiter key: an IPv4 address, or the /64 of an IPv6 address', () => {
  const a = parseAddr('2001:db8:1:2:aaaa::1')!;
  const b = parseAddr('2001:db8:1:2:bbbb::9')!;
  assert.equal(sourceKey(6, a.bytes, a.text), sourceKey(6, b.bytes, b.text));
  assert.notEqual(sourceKey(6, a.bytes, a.text), sourceKey(6, parseAddr('2001:db8:1:3::1')!.bytes, ''));
  assert.equal(sourceKey(4, parseAddr('192.0.2.1')!.bytes, '192.0.2.1'), '192.0.2.1');
});

test('-R answers: the first address in a bare, text or HTML body', () => {
  const cases: [string, string | undefined][] = [
    ['198.51.100.7\n', '198.51.100.7'],
    ['your address is 198.51.100.7', '198.51.100.7'],
    ['<html><body>Current IP Address: 203.0.113.9</body></html>', '203.0.113.9'],
    ['2001:db8::7', '2001:db8::7'],
    ['ip=2001:DB8:0:0:0:0:0:7;', '2001:db8::7'],
    ['no address here', undefined],
    ['0.0.0.0', undefined],
    ['', undefined],
  ];
  for (const [body, want] of cases) assert.equal(parsePublicAddress(body), want, body);
});
