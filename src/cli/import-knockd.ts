/** `knockctl import-knockd FILE`: translate a knockd.conf into our config (YAML on stdout or -o FILE). */
import { readFileSync } from 'node:fs';
import { fileError } from './system-errors';
import { writeImport } from './import-output';
import { importKnockd } from '../config/knockd-import';

export function importKnockdCommand(file: string, opts: { out?: string; force?: boolean }): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fileError('knockd config', file, e);
  }
  const r = importKnockd(text, file);
  return writeImport(r, opts);
}
