/** `knockctl install-ruleset`: replace our table atomically, keeping grants and the caller's SSH access. */
import { formatDuration, type AccessEntry, type SshSession } from '../core';
import type { Config } from '../config';
import { checkLocalTargets, configPath, firewallFor, readConfig } from './context';
import { parseDurationArg } from './duration-arg';
import { armRollback, runDir, snapshotTable } from './confirm';
import { detectSshSession, enforceLints, unknownSessionWarning } from './lockout';
import { buildKernelDoors, buildRuleset } from '../nft';
import { ensureSpaIdentity } from './identity';

export interface InstallOptions {
  config?: string;
  dryRun?: boolean;
  confirm?: string;
  keepSsh?: boolean;
  keepSshTimeout?: string;
  allowLockout?: boolean;
}

function antiLockout(cfg: Config, opts: InstallOptions, session: SshSession): { entries: AccessEntry[]; note?: string } {
  if (opts.keepSsh === false) return { entries: [] };
  const caller = session.caller;
  if (!caller) return { entries: [] };
  const secs = parseDurationArg('--keep-ssh-timeout', opts.keepSshTimeout ?? '1h', { min: 60 });
  const family = caller.addr.includes(':') ? 6 : 4;
  const entry: AccessEntry = { family, addr: caller.addr, proto: 'tcp', port: caller.port, door: 'anti-lockout', timeoutSec: secs, expiresSec: secs, set: family === 4 ? 'allowed4' : 'allowed6' };
  const note = cfg.base.policy === 'drop'
    ? `anti-lockout: your SSH source ${caller.addr} keeps ${caller.port}/tcp open for ${formatDuration(secs)} (found through ${caller.via}; remove: knockctl revoke ${caller.addr} ${caller.port}/tcp)`
    : undefined;
  return { entries: [entry], ...(note ? { note } : {}) };
}

export async function installRuleset(opts: InstallOptions, entry: string): Promise<number> {
  const file = configPath(opts.config);
  const { config: cfg, warnings } = readConfig(file);
  checkLocalTargets(cfg, file);
  for (const w of warnings) process.stderr.write(`warning: ${w.path}: ${w.message}\n`);
  let confirmSecs: number | undefined;
  if (opts.confirm !== undefined) {
    confirmSecs = parseDurationArg('--confirm', opts.confirm, { min: 5, max: 3600 });
  }
  const fw = firewallFor(cfg.table);
  const session = detectSshSession();
  enforceLints(cfg, file, session, opts.dryRun ? 'report' : opts.allowLockout ? 'allow' : 'refuse');
  const lock = antiLockout(cfg, opts, session);
  const extra = buildKernelDoors(cfg);
  if (opts.dryRun) {
    // Without root the current grants cannot be read; the batch is shown without them.
    const batch = await fw.buildInstall(cfg, { extra, extraKeep: lock.entries }).catch(() => buildRuleset(cfg, { extra, keep: lock.entries }));
    process.stdout.write(`${JSON.stringify(batch, null, 2)}\n`);
    return 0;
  }
  const loud = unknownSessionWarning(cfg, session, opts.keepSsh !== false);
  if (loud) process.stderr.write(`${loud}\n`);
  const existed = await fw.exists();
  const snapshot = confirmSecs !== undefined ? await snapshotTable(cfg.table, existed) : null;
  const batch = await fw.buildInstall(cfg, { extra, extraKeep: lock.entries });
  await fw.install(batch);
  const kept = batch.nftables.filter((c) => 'add' in c && 'element' in (c.add as object)).length;
  if (lock.note) process.stdout.write(`${lock.note}\n`);
  ensureSpaIdentity(cfg);
  process.stdout.write(
    `installed table inet ${cfg.table} (policy ${cfg.base.policy}): ${cfg.base.allow.length} always-open service(s), ${cfg.doors.length} door(s), ${kept} grant(s) kept\n`,
  );
  if (confirmSecs !== undefined) {
    armRollback(cfg.table, confirmSecs, snapshot, entry);
    process.stdout.write(
      `run 'knockctl confirm' within ${confirmSecs}s, or the previous ruleset is restored (grants made meanwhile are kept); ` +
        `a rollback is logged to the journal (journalctl -t knockctl) and ${runDir()}/rollback-${cfg.table}.log\n`,
    );
  }
  return 0;
}
