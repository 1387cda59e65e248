/**
 * `knockctl status` shows only the daemon of its own table and network namespace: two namespaces,
 * the same table name, one shared state_dir. Each status names its own daemon's pid and counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { skipReason, sleep, upLab, type Lab } from './support/lab';
import { scratch, startDaemon, writeConfig } from './support/daemon';

const skip = skipReason();

interface StatusJson { daemon: { running: boolean; pid: number | null; counters: { knocks: number } | null } }

async function status(l: Lab, config: string): Promise<StatusJson> {
  const r = await l.knockctl(l.server.ns, 'status', '-c', config, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusJson;
}

test('two namespaces sharing a state_dir: each status shows its own daemon and counters only', { skip }, async (t) => {
  const [one, two] = [await upLab(t), await upLab(t)];
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = writeConfig(dir, `table: kt\nstate_dir: ${join(dir, 'state')}\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n`);

  const d1 = await startDaemon(one, config);
  assert.equal((await two.knockctl(two.server.ns, 'install-ruleset', '-c', config)).code, 0);
  const s2 = await status(two, config);
  assert.equal(s2.daemon.running, false, 'the other namespace\'s daemon is not ours');
  assert.equal(s2.daemon.counters, null);
  const human = await two.knockctl(two.server.ns, 'status', '-c', config);
  assert.match(human.stdout, /^daemon: not running/);

  const d2 = await startDaemon(two, config, false);
  // `ip netns exec` execs the daemon in place: the child's pid is the daemon's.
  assert.equal((await status(one, config)).daemon.pid, d1.child.pid);
  assert.equal((await status(two, config)).daemon.pid, d2.child.pid);

  // A knock in the second namespace counts there only (status files are rewritten every 5 s).
  await two.knockctl(two.clients[0]!.ns, 'knock', two.server.ip4, '7000');
  let knocks = 0;
  for (const end = Date.now() + 20000; Date.now() < end && knocks < 1; await sleep(500)) knocks = (await status(two, config)).daemon.counters?.knocks ?? 0;
  assert.ok(knocks >= 1, 'the knock shows in its own namespace\'s status');
  assert.equal((await status(one, config)).daemon.counters?.knocks, 0, 'and not in the other one\'s');
  const text = (await one.knockctl(one.server.ns, 'status', '-c', config)).stdout;
  for (const label of ['packets', 'duplicates', 'knocks seen', 'knock successes', 'knock resets', 'grants', 'revokes', 'SPA accepted', 'SPA rejected', 'evictions', 'decode errors', 'nft failures', 'hook failures', 'internal errors']) {
    assert.match(text, new RegExp(`^  ${label} +\\d+`, 'm'), `human status shows ${label}`);
  }
});
