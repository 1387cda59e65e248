/**
 * deploy/knockctl.service.in: `systemctl reload` fails on a bad config and signals the daemon only on
 * a good one. The unit's ExecStartPre/ExecReload command lines are run here as systemd runs them (in
 * order, stopping at the first that fails), without systemd: @BINDIR@/knockctl is this build, and
 * $MAINPID a process that records the SIGHUPs it gets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../../../..');
const UNIT = readFileSync(join(REPO, 'deploy/knockctl.service.in'), 'utf8');
/** knockctl as installed: the bundle's launcher (src/cli/launch.ts). */
const MAIN = join(REPO, 'dist/src/cli/launch.js');

function lines(key: string): string[] {
  return UNIT.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

/** Run command lines like systemd: each in turn, the first failure fails the whole job. */
function runLikeSystemd(cmds: string[], env: NodeJS.ProcessEnv, bindir: string, mainpid: number): { code: number; stderr: string } {
  let stderr = '';
  for (const c of cmds) {
    const line = c.replace(/@BINDIR@/g, bindir).replace(/\$MAINPID/g, String(mainpid));
    const r = spawnSync('/bin/sh', ['-c', line], { env, encoding: 'utf8', timeout: 30_000 });
    stderr += r.stderr;
    if (r.status !== 0) return { code: r.status ?? 1, stderr };
  }
  return { code: 0, stderr };
}

/** A stand-in main process that counts SIGHUPs and reports them on stdout. */
function fakeDaemon(t: { after: (fn: () => void) => void }): { proc: ChildProcess; hups: () => number; ready: Promise<void> } {
  const proc = spawn(process.execPath, ['-e', "let n=0;process.on('SIGHUP',()=>{n++;process.stdout.write('hup '+n+'\\n')});process.stdout.write('ready\\n');setInterval(()=>{},1000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => proc.kill('SIGKILL'));
  let out = '';
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (resolveReady = r));
  proc.stdout?.on('data', (d: Buffer) => {
    out += String(d);
    if (out.includes('ready')) resolveReady();
  });
  return { proc, hups: () => (out.match(/hup/g) ?? []).length, ready };
}

test('ExecReload: a bad config fails the reload and the daemon is not signalled; a good one is signalled', async (t) => {
  const reload = lines('ExecReload');
  assert.ok(reload.length >= 1 && reload.some((l) => l.includes('check-config')), 'ExecReload validates first');
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'knockctl');
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
  chmodSync(bin, 0o755);
  const secret = join(dir, 'rot.secret');
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `state_dir: ${dir}\ndoors:\n  rot:\n    sequence: { rotate: { secret_file: ${secret} } }\n    open: ["22/tcp"]\n`, { mode: 0o600 });
  const env = { ...process.env, KNOCKCTL_CONFIG: cfg };
  const d = fakeDaemon(t);
  await d.ready;
  // The secret file is missing: the daemon would refuse this config, so must the reload.
  const bad = runLikeSystemd(reload, env, dir, d.proc.pid as number);
  assert.notEqual(bad.code, 0, 'systemctl reload fails');
  assert.match(bad.stderr, /doors\.rot\.sequence\.rotate\.secret_file: cannot read .*rot\.secret: no such file/);
  assert.equal(runLikeSystemd(lines('ExecStartPre').filter((l) => l.includes('check-config')), env, dir, 0).code, 2, 'a start stops at ExecStartPre too');
  writeFileSync(secret, `base64:${Buffer.alloc(32, 3).toString('base64')}\n`, { mode: 0o600 });
  const good = runLikeSystemd(reload, env, dir, d.proc.pid as number);
  assert.equal(good.code, 0, good.stderr);
  for (let i = 0; i < 200 && d.hups() === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(d.hups(), 1, 'the daemon got exactly one SIGHUP, after the good config');
});
