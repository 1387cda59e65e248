import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClientConfigText } from '../../../src/spa/client-config';
import { ConfigError } from '../../../src/core';

function issues(text: string): { path: string; message: string; line?: number }[] {
  try {
    loadClientConfigText(text, 'client.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.issues.map((i) => ({ ...i }));
  }
  assert.fail('expected a ConfigError');
}

test('a full stanza is normalized', () => {
  const m = loadClientConfigText(`
gw:
  host: gw.example.org
  port: 40000
  key_file: ~/.config/knockctl/gw.key
  name: alice
  open: ["22/tcp", "51820/udp", "192.168.1.10:22", "2222/tcp=>[2001:DB8::10]:22"]
  allow: 2001:DB8::7
  timeout: 5m
minimal:
  host: 192.0.2.1
  key_file: /etc/knockctl/me.key
`);
  assert.deepEqual(m.get('gw'), {
    stanza: 'gw', host: 'gw.example.org', port: 40000, keyFile: '~/.config/knockctl/gw.key', name: 'alice',
    open: ['22/tcp', '51820/udp', '192.168.1.10:22/tcp', '2222/tcp=>[2001:db8::10]:22'], allow: '2001:db8::7', timeoutSec: 300,
  });
  assert.deepEqual(m.get('minimal'), { stanza: 'minimal', host: '192.0.2.1', keyFile: '/etc/knockctl/me.key', open: [] });
});

test('every problem is reported with its path and line', () => {
  const found = issues(`
gw:
  host: gw.example.org
  key_file: relative.key
  open: ["22/tcp", "70000/tcp"]
  tiemout: 30
other:
  key_file: /k
`);
  const paths = found.map((i) => i.path).sort();
  assert.deepEqual(paths, ['gw.key_file', 'gw.tiemout', 'other']);
  const byPath = new Map(found.map((i) => [i.path, i]));
  assert.match(byPath.get('gw.key_file')!.message, /absolute path/);
  const svc = issues('gw:\n  host: h\n  key_file: /k\n  open: ["22/tcp", "70000/tcp"]\n');
  assert.deepEqual(svc.map((i) => i.path), ['gw.open[1]']);
  assert.match(svc[0]!.message, /"70000\/tcp" is not a port 1-65535/);
  assert.match(byPath.get('other')!.message, /missing required key "host"/);
  assert.equal(byPath.get('gw.tiemout')!.line, 6);
});

test('semantic checks after the schema: bad address, allow with allow_source, huge timeout', () => {
  const found = issues(`
gw:
  host: h
  key_file: /k
  allow: 1.2.3.999
  allow_source: true
  timeout: 99999999999s
`);
  assert.deepEqual(found.map((i) => i.path).sort(), ['gw.allow', 'gw.allow_source', 'gw.timeout']);
  assert.match(issues('gw: {host: h, key_file: /k, timeout: 0}\n')[0]!.message, /below the minimum 1/);
});

test('a bad duration is explained once, with the expected form', () => {
  const found = issues('gw: {host: h, key_file: /k, timeout: 5 minutes}\n');
  assert.equal(found.length, 1);
  assert.equal(found[0]!.path, 'gw.timeout');
  assert.match(found[0]!.message, /duration/);
});

test('YAML errors and a non-mapping are ConfigErrors', () => {
  assert.ok(issues('gw: [').length > 0);
  assert.match(issues('- a\n- b\n')[0]!.message, /mapping/);
});
