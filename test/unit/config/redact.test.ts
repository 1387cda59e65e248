import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, collectSecrets, redactIssues, redactText } from '../../../src/config';

test('secrets: values of key settings, with and without their prefix; file names are not secrets', () => {
  const s = collectSecrets({ doors: { a: { spa: { clients: { x: { key: 'base64:QUJDREVGR0hJSktM', hmac_key: 'base64:aG1hYy1rZXktdmFsdWU=', key_file: '/etc/k' }, y: { public_key: 'ed25519:cHVibGljLWtleQ==' } } } } }, rotate: { secret_file: '/s' } });
  assert.ok(s.includes('base64:QUJDREVGR0hJSktM') && s.includes('QUJDREVGR0hJSktM'));
  assert.ok(s.includes('base64:aG1hYy1rZXktdmFsdWU=') && s.includes('ed25519:cHVibGljLWtleQ=='));
  assert.ok(!s.includes('/etc/k') && !s.includes('/s'));
});

test('redaction: quoted values anywhere, bare values when long; other text untouched', () => {
  const secrets = collectSecrets({ key: 'base64:QUJDREVGR0hJSktM', public_key: 'abc' });
  assert.equal(redactText('"base64:QUJDREVGR0hJSktM" is not base64:...', secrets), `"${REDACTED}" is not base64:...`);
  assert.equal(redactText('decoded QUJDREVGR0hJSktM badly', secrets), `decoded ${REDACTED} badly`);
  assert.equal(redactText('"abc" is too short; abcdef stays', secrets), `"${REDACTED}" is too short; abcdef stays`);
  assert.deepEqual(redactIssues([{ path: 'p', message: 'x "abc"', line: 3 }], secrets), [{ path: 'p', message: `x "${REDACTED}"`, line: 3 }]);
});
