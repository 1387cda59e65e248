/**
 * `install-ruleset --confirm` not confirmed: the previous table comes back, the grants made while the
 * rollback was pending stay (the one a new session used to prove access, say), and the rollback says
 * so in its log file, in the journal (through logger(1), replaced here by a recording stand-in on
 * PATH) and nowhere silently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKCTL, skipReason, sleep, upLab } from './support/lab';

const skip = skipReason();

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) if (cond()) return true;
  return cond();
}

test('a rollback keeps the grants made while it was pending, and says what it restored and kept', { skip }, async (t) => {
  const l = await upLab(t, 2);
  const [a, b] = [l.clients[0]!, l.clients[1]!];
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-confirm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runDir = join(dir, 'run');
  const journal = join(dir, 'journal');
  writeFileSync(join(dir, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${journal}\n`);
  chmodSync(join(dir, 'logger'), 0o755);
  const before = join(dir, 'before.yaml');
  writeFileSync(before, 'table: kt\nbase: { allow: ["80/tcp"] }\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n');
  const after = join(dir, 'after.yaml');
  writeFileSync(after, 'table: kt\nbase: { allow: ["81/tcp"] }\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n');
  const env = ['env', `KNOCKCTL_RUN_DIR=${runDir}`, `PATH=${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, KNOCKCTL];
  await l.service(22);

  assert.equal((await l.knockctl(l.server.ns, 'install-ruleset', '-c', before)).code, 0);
  const old = await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input');
  assert.equal((await l.knockctl(l.server.ns, 'grant', b.ip4, '22/tcp', '-c', before, '-t', '900')).code, 0);
  const r = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'install-ruleset', '-c', after, '--confirm', '15');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`grants made meanwhile are kept\\); a rollback is logged to the journal \\(journalctl -t knockctl\\) and ${runDir}/rollback-kt\\.log`));
  // While pending: the new session's grant (a manual grant stands in for the knock that made it).
  assert.equal((await l.knockctl(l.server.ns, 'grant', a.ip4, '22/tcp', '-c', after, '-t', '600')).code, 0);
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
  const pending = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'status', '-c', after);
  assert.match(pending.stdout, /^rollback pending: the previous table comes back in \d+s unless you run: knockctl confirm$/m);

  const log = join(runDir, 'rollback-kt.log');
  assert.ok(await waitFor(() => existsSync(log), 40000), 'the rollback ran and logged');
  assert.equal(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input'), old, 'the previous chain is back');
  const set = await l.sh(l.server.ns, 'nft', 'list', 'set', 'inet', 'kt', 'allowed4');
  assert.match(set, new RegExp(`${a.ip4.replaceAll('.', '\\.')} \\. tcp \\. 22 timeout \\d+[ms]\\d*[ms]?[^\\n]*comment "manual"`), `the grant made while pending is kept:\n${set}`);
  assert.match(set, new RegExp(`${b.ip4.replaceAll('.', '\\.')} \\. tcp \\. 22 timeout`), 'the grant made before is kept too');
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the client that proved access still gets in');
  const text = readFileSync(log, 'utf8');
  assert.match(text, new RegExp(`not confirmed in time \\(knockctl confirm\\): restored the previous table inet kt; kept 2 grant\\(s\\) made since: .*${a.ip4.replaceAll('.', '\\.')} \\. tcp \\. 22 \\(manual\\), \\d+s left`));
  const later = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'status', '-c', before, '--json');
  const rb = (JSON.parse(later.stdout) as { rollback: { pending_until: string | null; last: string | null } }).rollback;
  assert.equal(rb.pending_until, null);
  assert.match(rb.last ?? '', /restored the previous table inet kt; kept 2 grant/);
  assert.ok(await waitFor(() => existsSync(journal), 5000), 'logger was called');
  assert.match(readFileSync(journal, 'utf8'), /^-t knockctl -p auth\.warning -- install-ruleset --confirm was not confirmed in time .*restored the previous table inet kt; kept 2 grant/m);
});

test('knockctl confirm cancels the rollback and says so in the journal', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-confirm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journal = join(dir, 'journal');
  writeFileSync(join(dir, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${journal}\n`);
  chmodSync(join(dir, 'logger'), 0o755);
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'table: kt\nbase: { allow: ["81/tcp"] }\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n');
  const env = ['env', `KNOCKCTL_RUN_DIR=${join(dir, 'run')}`, `PATH=${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, process.execPath, KNOCKCTL];
  assert.equal((await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'install-ruleset', '-c', cfg, '--confirm', '5')).code, 0);
  const c = await l.exec(l.server.ns, env[0]!, ...env.slice(1), 'confirm', '-c', cfg);
  assert.equal(c.code, 0, c.stderr);
  assert.match(readFileSync(journal, 'utf8'), /^-t knockctl -p auth\.notice -- install-ruleset --confirm confirmed: table inet kt stays as installed$/m);
  await sleep(6000);
  assert.ok(!existsSync(join(dir, 'run', 'rollback-kt.log')), 'no rollback ran');
  assert.match(await l.sh(l.server.ns, 'nft', 'list', 'chain', 'inet', 'kt', 'input'), /tcp \. 81/);
});
