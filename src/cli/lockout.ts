/**
 * Lock-out safety for `install-ruleset` and `check-config`: find the caller's SSH connection (also
 * through sudo, which drops SSH_CONNECTION), run the lock-out lints, and refuse or warn.
 */
import { UsageError, findSshSession, type SshSession } from '../core';
import { lintConfig, type LintFinding } from '../config/lint';
import type { Config } from '../config';
import { ProcFs } from '../io/proc-reader';

/** The SSH connection this command runs from, searched in our own environment, then in /proc. */
export function detectSshSession(): SshSession {
  return findSshSession(new ProcFs(), process.pid, process.env, ProcFs.littleEndian);
}

export const ALLOW_LOCKOUT_HELP = 'do it even though the lock-out checks say it would lock you out';

function line(file: string, f: LintFinding, prefix: string): string {
  return `${prefix}: ${file}: ${f.path ? `${f.path}: ` : ''}${f.message}`;
}

/**
 * Print the lints' warnings; with errors, refuse (UsageError, exit 2), unless `mode` is `allow`
 * (--allow-lockout: printed as overridden) or `report` (--dry-run: printed, nothing is installed).
 */
export function enforceLints(cfg: Config, file: string, session: SshSession, mode: 'refuse' | 'allow' | 'report', out: NodeJS.WritableStream = process.stderr): void {
  const findings = lintConfig(cfg, session.caller ? { sshCaller: session.caller } : {});
  const errors = findings.filter((f) => f.severity === 'error');
  for (const f of findings.filter((x) => x.severity === 'warning')) out.write(`${line(file, f, 'warning')}\n`);
  if (errors.length === 0) return;
  if (mode !== 'refuse') {
    const label = mode === 'allow' ? 'warning (allowed by --allow-lockout)' : 'error (an install would be refused)';
    for (const f of errors) out.write(`${line(file, f, label)}\n`);
    return;
  }
  const body = errors.map((f) => `  ${line(file, f, f.code)}`).join('\n');
  throw new UsageError(`refused: this config would lock you out:\n${body}\nFix the config, or pass --allow-lockout if you mean it (have a console at hand).`);
}

/** The loud warning for a policy-drop install from what looks like a remote session without a known SSH connection. */
export function unknownSessionWarning(cfg: Config, session: SshSession, keepSsh: boolean): string | undefined {
  if (cfg.base.policy !== 'drop' || session.caller || !session.remoteHint || !keepSsh) return undefined;
  return [
    '*** WARNING: this looks like a remote session (' + session.remoteHint + '),',
    '*** but no SSH connection was found for it, so NO anti-lockout grant is made.',
    '*** If you are connected over SSH, a new session gets in only through a door or base.allow.',
    '*** Use --confirm SECONDS, and check with a new session before running knockctl confirm.',
  ].join('\n');
}
