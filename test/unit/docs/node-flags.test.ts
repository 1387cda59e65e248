/** The daemon's node flags are set in three places; the bench must measure what is installed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../../../..');
const read = (f: string): string => readFileSync(resolve(REPO, f), 'utf8');

test('the installed wrapper, the container and the bench run node with the same flags', () => {
  const bench = /DAEMON_NODE_FLAGS = \[([^\]]*)\]/.exec(read('bench/keepers.ts'));
  assert.ok(bench, 'bench/keepers.ts declares DAEMON_NODE_FLAGS');
  const flags = [...(bench[1] as string).matchAll(/'([^']+)'/g)].map((m) => m[1] as string);
  assert.ok(flags.length > 0);
  const wrapper = /exec %s (.*?) "\$\$here/.exec(read('Makefile'));
  assert.ok(wrapper, 'the Makefile writes the wrapper');
  assert.deepEqual((wrapper[1] as string).split(' '), flags, 'make install wrapper');
  const container = /NODE_OPTIONS=(?:"([^"]*)"|(\S+))/.exec(read('Containerfile'));
  assert.ok(container, 'the Containerfile sets NODE_OPTIONS');
  assert.deepEqual((container[1] ?? container[2] ?? '').split(' '), flags, 'Containerfile NODE_OPTIONS');
});
