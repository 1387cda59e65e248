/**
 * `knockctl daemon -D` (knockd -D): per packet, rate-limited, why a knock did nothing; `--version`.
 * Real kernel, throwaway namespaces; real knocks with knockctl's own client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { upLab, KNOCKCTL, skipReason, type Lab, type Host } from './support/lab';
import { RunningDaemon, scratch, writeConfig } from './support/daemon';

const skip = skipReason();

function knock(l: Lab, from: Host, addr: string, ...ports: string[]): Promise<unknown> {
  return l.exec(from.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', addr, ...ports);
}

test('daemon -D logs each ignored knock with its reason; without it, none', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const a = l.clients[0]!;
  const dir = scratch();
  const cfg = writeConfig(dir, `table: kt\nstate_dir: ${dir}/state\ndoors:\n  ssh:\n    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]\n    open: ["22/tcp"]\n    from: ["203.0.113.0/24"]\n  web:\n    sequence: ["7100", "7200"]\n    open: ["80/tcp"]\n`);
  const install = await l.knockctl(l.server.ns, 'install-ruleset', '-c', cfg);
  assert.equal(install.code, 0, install.stderr);
  for (const flags of [['-D'], []]) {
    const d = new RunningDaemon(l.start(l.server.ns, process.execPath, [KNOCKCTL, 'daemon', '-c', cfg, ...flags]));
    t.after(() => d.child.kill('SIGKILL'));
    await d.event('start', undefined, 8000);
    await knock(l, a, l.server.ip4, '7000'); // ssh: not from 203.0.113.0/24
    await knock(l, a, l.server.ip4, '7200'); // web: not the first knock
    if (flags.length) {
      const from = await d.event('knock-ignored', (x) => x.door === 'ssh');
      assert.deepEqual([from.src, from.reason, from.level], [a.ip4, 'from', 'debug']);
      const notFirst = await d.event('knock-ignored', (x) => x.door === 'web');
      assert.equal(notFirst.reason, 'not-first');
    } else {
      await knock(l, a, l.server.ip4, '7100'); // a stage line shows the knocks arrived
      await d.event('knock-stage', (x) => x.door === 'web');
      assert.equal(d.count('knock-ignored'), 0, 'nothing at log_level info');
      // log_level takes effect on reload.
      writeFileSync(cfg, `log_level: debug\n${readFileSync(cfg, 'utf8')}`);
      d.child.kill('SIGHUP');
      await d.event('reload');
      await knock(l, a, l.server.ip4, '7200');
      assert.equal((await d.event('knock-ignored', (x) => x.door === 'web')).reason, 'not-first');
    }
    d.child.kill('SIGTERM');
    assert.equal(await d.exited(), 0);
  }
});

test('knockctl --version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string };
  const { spawnSync } = await import('node:child_process');
  for (const flag of ['--version', '-V']) {
    const r = spawnSync(process.execPath, [KNOCKCTL, flag], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `knockctl (nftknock) ${pkg.version}\n`);
  }
});
