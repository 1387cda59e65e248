/**
 * `knockctl status` shows only the daemon of its own table and network namespace: two namespaces,
 * the same table name and config, one daemon (a second one on the same state_dir is refused:
 * state-dir-lock.test.ts). The other namespace's status shows no daemon.
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

test('two namespaces sharing a config: status shows the daemon and counters of its own namespace only', { skip }, async (t) => {
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

  // `ip netns exec` execs the daemon in place: the child's pid is the daemon's.
  assert.equal((await status(one, config)).daemon.pid, d1.child.pid);

  // A knock in the first namespace counts there only (status files are rewritten every 5 s).
  await one.knockctl(one.clients[0]!.ns, 'knock', one.server.ip4, '7000');
  let knocks = 0;
  for (const end = Date.now() + 20000; Date.now() < end && knocks < 1; await sleep(500)) knocks = (await status(one, config)).daemon.counters?.knocks ?? 0;
  assert.ok(knocks >= 1, 'the knock shows in its own namespace\'s status');
  assert.equal((await status(two, config)).daemon.counters, null, 'and the other namespace still shows no daemon');
  const text = (await one.knockctl(one.server.ns, 'status', '-c', config)).stdout;
  for (const label of ['packets', 'duplicates', 'knocks seen', 'knock successes', 'knock resets', 'grants', 'revokes', 'SPA accepted', 'SPA rejected', 'evictions', 'decode errors', 'nft failures', 'hook failures', 'internal errors']) {
    assert.match(text, new RegExp(`^  ${label} +\\d+`, 'm'), `human status shows ${label}`);
  }
});
