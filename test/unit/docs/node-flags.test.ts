/**
 * knockctl's node flags are set in three places (the Makefile's NODE_FLAGS for the wrapper and the
 * code cache, the Containerfile's NODE_OPTIONS, the tests' and bench's NODE_FLAGS): the bench must
 * measure what is installed, and V8 ignores a code cache made under other flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../../../..');
const read = (f: string): string => readFileSync(resolve(REPO, f), 'utf8');

test('the installed wrapper, the code cache, the container, the tests and the bench run node with the same flags', () => {
  const tests = /NODE_FLAGS = \[([^\]]*)\]/.exec(read('test/integration/support/lab.ts'));
  assert.ok(tests, 'test/integration/support/lab.ts declares NODE_FLAGS');
  const flags = [...(tests[1] as string).matchAll(/'([^']+)'/g)].map((m) => m[1] as string);
  assert.ok(flags.length > 0);
  assert.match(read('bench/keepers.ts'), /DAEMON_NODE_FLAGS = NODE_FLAGS;/, 'the bench uses the tests\' flags');
  const make = read('Makefile');
  const makeFlags = /^NODE_FLAGS := (.*)$/m.exec(make);
  assert.ok(makeFlags, 'the Makefile sets NODE_FLAGS');
  assert.deepEqual((makeFlags[1] as string).trim().split(' '), flags, 'Makefile NODE_FLAGS');
  assert.match(make, /exec %s \$\(NODE_FLAGS\) "\$\$here\/%s\/dist\/src\/cli\/launch\.js"/, 'the wrapper runs the launcher with NODE_FLAGS');
  assert.match(make, /\$\(NODE\) \$\(NODE_FLAGS\) -e "require\('\.\/dist\/src\/cli\/launch\.js'\)\.writeCodeCache\(\)"/, 'the code cache is made under NODE_FLAGS');
  const container = /NODE_OPTIONS=(?:"([^"]*)"|(\S+))/.exec(read('Containerfile'));
  assert.ok(container, 'the Containerfile sets NODE_OPTIONS');
  assert.deepEqual((container[1] ?? container[2] ?? '').split(' '), flags, 'Containerfile NODE_OPTIONS');
});

test('the Containerfile bundles with the Makefile\'s esbuild flags', () => {
  const make = read('Makefile');
  const m = /^BUNDLE_FLAGS := ((?:.*\\\n)*.*)$/m.exec(make);
  assert.ok(m, 'the Makefile sets BUNDLE_FLAGS');
  const words = (text: string): string[] => text.replace(/\\\n/g, ' ').split(/\s+/).filter((w) => w.startsWith('--'));
  const flags = words(m[1] as string);
  assert.ok(flags.includes('--bundle') && flags.includes('--external:koffi'));
  const c = /node_modules\/\.bin\/esbuild dist\/src\/cli\/main\.js ((?:.*\\\n)*.*?)--outfile=dist\/bundle\/knockctl\.js/.exec(read('Containerfile'));
  assert.ok(c, 'the Containerfile runs esbuild on dist/src/cli/main.js');
  assert.deepEqual(words(c[1] as string), flags);
});
