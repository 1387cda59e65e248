/**
 * `knockctl check-config`: the daemon's own check. The config text (syntax, schema, normalization),
 * then the same runtime check the daemon runs at start and on reload (secret and sequence files, the
 * one-time record, interfaces, file modes). Exit 0 with a summary, or 2 with every problem at once,
 * each with its line.
 */
import { ConfigError, formatDuration, type ConfigIssue } from '../core';
import { inspectConfigText, redactIssues, type Config } from '../config';
// The module, not the folder's index: check-config needs the runtime check, not the running daemon.
import { checkRuntime } from '../daemon/runtime';
import { FsRuntimeFiles } from '../io/runtime-files';
import { FsStateStore } from '../io/state-store';
import { configPath, localAddressesNow, readConfigText } from './context';
import { detectSshSession, enforceLints } from './lockout';

/** Every issue and warning of the config file `file`, and the config when it has no issue. */
export async function inspectConfigFile(file: string): Promise<{ config?: Config; issues: ConfigIssue[]; warnings: ConfigIssue[] }> {
  const r = inspectConfigText(readConfigText(file));
  const cfg = r.config ?? r.partial;
  const issues = [...r.issues];
  const warnings = [...r.warnings];
  if (cfg) {
    try {
      // This host's addresses now: the runtime check refuses router doors that forward to one of them.
      const files = new FsRuntimeFiles(file);
      const rt = await checkRuntime(cfg, files, new FsStateStore(cfg.stateDir), localAddressesNow());
      // The daemon creates state_dir at start (a reload keeps the old one): checked here, not in checkRuntime.
      // As the daemon: refused only when it cannot be created; a permission problem without root is
      // expected (the daemon runs as root): warnings then.
      const sd = files.stateDirProblem(cfg.stateDir);
      if (sd) (sd.fatal && !(sd.denied && process.getuid?.() !== 0) ? rt.issues : rt.warnings).push({ path: 'state_dir', message: sd.message });
      const withLine = (i: ConfigIssue): ConfigIssue => {
        const line = i.line ?? r.lineOf(i.path);
        return line === undefined ? i : { ...i, line };
      };
      issues.push(...redactIssues(rt.issues, r.secrets).map(withLine));
      warnings.push(...redactIssues(rt.warnings, r.secrets).map(withLine));
    } catch (e) {
      // A config with issues may be too broken to build; its issues are reported already.
      if (issues.length === 0) throw e;
    }
  }
  const byLine = (a: ConfigIssue, b: ConfigIssue): number => (a.line ?? Infinity) - (b.line ?? Infinity);
  issues.sort(byLine);
  warnings.sort(byLine);
  return { ...(issues.length === 0 && r.config ? { config: r.config } : {}), issues, warnings };
}

/** `issues` of the config file `file` with their lines filled in (for the daemon's own refusals). */
export function withLines(issues: readonly ConfigIssue[], file: string): ConfigIssue[] {
  let lineOf: (path: string) => number | undefined = () => undefined;
  try {
    lineOf = inspectConfigText(readConfigText(file)).lineOf;
  } catch {
    // The file changed or went away: report without lines.
  }
  return issues.map((i) => {
    const line = i.line ?? lineOf(i.path);
    return line === undefined ? i : { ...i, line };
  });
}

export async function checkConfig(opts: { config?: string; allowLockout?: boolean }): Promise<number> {
  const file = configPath(opts.config);
  const { config: cfg, issues, warnings } = await inspectConfigFile(file);
  for (const w of warnings) process.stderr.write(`warning: ${file}${w.line ? `:${w.line}` : ''}: ${w.path ? `${w.path}: ` : ''}${w.message}\n`);
  if (!cfg) throw new ConfigError(issues, file);
  enforceLints(cfg, file, detectSshSession(), opts.allowLockout ? 'allow' : 'refuse');
  const knock = cfg.doors.filter((d) => d.kind === 'knock').length;
  const spa = cfg.doors.length - knock;
  const longest = Math.max(0, ...cfg.doors.map((d) => d.timeoutSec));
  process.stdout.write(
    `${file}: ok: table inet ${cfg.table}, policy ${cfg.base.policy}, ${knock} knock door(s), ${spa} SPA door(s), ${cfg.base.allow.length} always-open service(s)${cfg.doors.length ? `, longest grant ${formatDuration(longest)}` : ''}\n`,
  );
  return 0;
}
