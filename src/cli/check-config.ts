/** `knockctl check-config`: validate only; exit 0 with a summary, or 2 with every problem. */
import { formatDuration } from '../core';
import { checkLocalTargets, configPath, readConfig } from './context';

export function checkConfig(opts: { config?: string }): number {
  const file = configPath(opts.config);
  const { config: cfg, warnings } = readConfig(file);
  checkLocalTargets(cfg, file);
  for (const w of warnings) process.stderr.write(`warning: ${file}${w.line ? `:${w.line}` : ''}: ${w.path}: ${w.message}\n`);
  const knock = cfg.doors.filter((d) => d.kind === 'knock').length;
  const spa = cfg.doors.length - knock;
  const longest = Math.max(0, ...cfg.doors.map((d) => d.timeoutSec));
  process.stdout.write(
    `${file}: ok: table inet ${cfg.table}, policy ${cfg.base.policy}, ${knock} knock door(s), ${spa} SPA door(s), ${cfg.base.allow.length} always-open service(s)${cfg.doors.length ? `, longest grant ${formatDuration(longest)}` : ''}\n`,
  );
  return 0;
}
