/**
 * Our table only (issue #14 item 9): a table of the configured name that knockctl did not install
 * (no `managed_by_knockctl` chain) is never replaced or deleted: install-ruleset, uninstall-ruleset,
 * the daemon's start and its self-repair refuse with a clear message, and the foreign table stays
 * byte-identical (its JSON listing, handles included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOCKCTL, type Lab, skipReason, upLab } from './support/lab';
import { scratch, startDaemon, writeConfig } from './support/daemon';

const skip = skipReason();

/** The table's listing with handles: a replaced table (same rules) would get new handles. */
function listing(l: Lab, table: string): Promise<string> {
  return l.sh(l.server.ns, 'nft', '-j', '-a', 'list', 'table', 'inet', table);
}

const FOREIGN = (name: string) => `table inet ${name} {
  set blocked { type ipv4_addr; elements = { 192.0.2.1 }; }
  chain input { type filter hook input priority -5; policy accept; ip saddr @blocked counter drop; }
}
`;

function knockConfig(dir: string, table: string): string {
  return writeConfig(dir, `table: ${table}
state_dir: ${dir}/state
doors:
  ssh: { sequence: ["7000:tcp", "8000:tcp"], open: ["22/tcp"], timeout: 30 }
`, `${table}.yaml`);
}

test('install-ruleset, uninstall-ruleset and the daemon refuse a foreign table of our name and leave it byte-identical', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const dir = scratch();
  await l.sh(l.server.ns, 'nft', '-f', writeConfig(dir, FOREIGN('filter'), 'foreign.nft'));
  const before = await listing(l, 'filter');
  const cfg = knockConfig(dir, 'filter');
  const inst = await l.knockctl(l.server.ns, 'install-ruleset', '-c', cfg);
  assert.equal(inst.code, 2, inst.stderr);
  assert.match(inst.stderr, /table inet filter exists and was not installed by knockctl .*managed_by_knockctl.*Choose another name with "table:"/);
  assert.equal(inst.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  assert.equal(await listing(l, 'filter'), before, 'install left it byte-identical');
  const un = await l.knockctl(l.server.ns, 'uninstall-ruleset', '-c', cfg);
  assert.equal(un.code, 2, un.stderr);
  assert.match(un.stderr, /not installed by knockctl/);
  assert.equal(await listing(l, 'filter'), before, 'uninstall left it byte-identical');
  const daemon = await l.knockctl(l.server.ns, 'daemon', '-c', cfg);
  assert.equal(daemon.code, 2, daemon.stderr);
  assert.match(daemon.stderr, /not installed by knockctl/);
  assert.equal(await listing(l, 'filter'), before);
  // Our own table of another name installs, reinstalls and uninstalls as always.
  const mine = knockConfig(dir, 'kt');
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', mine)).code, 0);
  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', mine)).code, 0, 'our table (it has the marker) is replaced');
  assert.match(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'managed_by_knockctl'), /chain managed_by_knockctl/);
  const gone = await l.knockctl(l.server.ns, 'uninstall-ruleset', '-c', mine);
  assert.equal(gone.code, 0, gone.stderr);
  assert.equal((await l.exec(l.server.ns, 'nft', 'list', 'table', 'inet', 'kt')).code, 1, 'ours is deleted');
  assert.equal(await listing(l, 'filter'), before, 'and theirs is still byte-identical');
});

test('self-repair: our table replaced by someone else\'s of the same name is left alone, and said so', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const a = l.clients[0]!;
  const dir = scratch();
  const d = await startDaemon(l, knockConfig(dir, 'kt'));
  await l.sh(l.server.ns, 'nft', 'delete', 'table', 'inet', 'kt');
  await l.sh(l.server.ns, 'nft', '-f', writeConfig(dir, FOREIGN('kt'), 'foreign.nft'));
  const before = await listing(l, 'kt');
  // Both triggers: the 5 s health check, and a grant that fails on the missing set.
  const e = await d.event('ruleset-foreign', undefined, 12000);
  assert.match(String(e.reason), /no chain managed_by_knockctl/);
  await l.exec(a.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', l.server.ip4, '7000', '8000');
  const failed = await d.event('grant-failed', (x) => x.src === a.ip4, 15000);
  assert.match(String(failed.reason), /No such file or directory.*a set of door ssh is missing/, 'nft\'s message, and what it means here');
  assert.equal(d.count('ruleset-installed'), 0, 'never reinstalled over it');
  assert.equal(d.count('ruleset-foreign'), 1, 'said once per episode');
  assert.equal(await listing(l, 'kt'), before, 'their table is byte-identical');
});
