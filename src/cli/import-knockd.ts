/** `knockctl import-knockd FILE`: translate a knockd.conf into our config (YAML on stdout or -o FILE). */
import { readFileSync } from 'node:fs';
import { fileError } from './system-errors';
import { writeFileAtomicSync } from '../io/atomic-file';
import { importKnockd } from '../config/knockd-import';

export function importKnockdCommand(file: string, opts: { out?: string; force?: boolean }): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fileError('knockd config', file, e);
  }
  const r = importKnockd(text, file);
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (opts.out) {
    writeFileAtomicSync(opts.out, r.yaml, { mode: 0o600, force: opts.force === true });
    process.stderr.write(`wrote ${opts.out}; check it with: knockctl check-config -c ${opts.out}\n`);
  } else process.stdout.write(r.yaml);
  return 0;
}
