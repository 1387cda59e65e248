/**
 * One daemon per state_dir: a second daemon on the same state_dir (another network namespace, the
 * same config) fails at start with one line naming the state_dir and the holder, and changes nothing
 * there; the first keeps working; once it is gone (even killed), a new one starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { skipReason, sleep, upLab, type Lab } from './support/lab';
import { scratch, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';

const skip = skipReason();

function snapshot(dir: string): string {
  return readdirSync(dir).sort().map((n) => `${n} ${statSync(join(dir, n)).mtimeMs} ${readFileSync(join(dir, n)).toString('base64')}`).join('\n');
}

async function knockOpens(l: Lab, d: RunningDaemon): Promise<boolean> {
  const c = l.clients[0]!;
  assert.equal((await l.knockctl(c.ns, 'knock', '-d', '20', l.server.ip4, '7000', '8000')).code, 0);
  await d.event('grant', (x) => x.src === c.ip4);
  return l.connects(c, l.server.ip4, 22);
}

test('a second daemon on the same state_dir fails naming it and the holder; the first keeps working; after it stops a new one starts', { skip }, async (t) => {
  const [one, two] = [await upLab(t), await upLab(t)];
  const dir = scratch();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'state');
  const config = writeConfig(dir, `table: kt\nstate_dir: ${state}\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"], timeout: 30 }\n`);
  await one.service(22);
  await two.service(22);
  const d1 = await startDaemon(one, config);
  // The status file (written just after start) is where the holder's table is read from.
  for (const end = Date.now() + 5000; Date.now() < end && !readdirSync(state).some((n) => n.startsWith('status-')); ) await sleep(50);
  assert.equal((await two.knockctl(two.server.ns, 'install-ruleset', '-c', config)).code, 0);
  assert.equal((await two.knockctl(two.server.ns, 'check-config', '-c', config)).code, 0, 'check-config does not take the lock');

  const before = snapshot(state);
  const second = await two.knockctl(two.server.ns, 'daemon', '-c', config);
  assert.equal(second.code, 1, 'a runtime failure');
  assert.match(second.stderr, new RegExp(`^knockctl: state_dir ${state} is in use by another knockctl daemon \\(pid ${d1.child.pid}, table kt, netns net:\\[\\d+\\]\\): each daemon needs its own state_dir`));
  assert.equal(second.stderr.trim().split('\n').length, 1, 'one line');
  assert.equal(snapshot(state), before, 'nothing in the first daemon\'s state_dir changed');
  assert.equal(existsSync(join(state, 'spa-identity')), false);

  assert.equal(await knockOpens(one, d1), true, 'the first daemon still opens on a knock');
  // SIGKILL: no release() runs; the kernel drops the flock with the process.
  d1.child.kill('SIGKILL');
  await d1.exited();
  const d2 = await startDaemon(two, config, false);
  assert.equal(await knockOpens(two, d2), true, 'the state_dir is free once its daemon stopped');
});
