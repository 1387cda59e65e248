/** `knockctl import-fwknop ACCESS.CONF [--fwknopd-conf FILE]`: fwknopd's config → a knockctl config (stdout or -o FILE). */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type PortSpec, parsePortSpec } from '../core';
import { writeImport } from './import-output';
import { fileError } from './system-errors';
import { importFwknop } from '../config/fwknop-import';

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw fileError('fwknop config', file, e);
  }
}

function openList(text: string | undefined): PortSpec[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => {
    const r = parsePortSpec(s.trim());
    if (!r.ok) throw new UsageError(`--open: "${s.trim()}" is not PORT/PROTO (e.g. 22/tcp)`);
    return r.value;
  });
}

/** What `%include` and `%include_folder` read: files as named, a folder's `*.conf` in name order. */
const reader = {
  read(path: string): string {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  },
  list(dir: string): string[] {
    try {
      return readdirSync(dir).filter((n) => n.endsWith('.conf')).sort().map((n) => join(dir, n));
    } catch (e) {
      throw new Error(`cannot read the folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  },
};

export function importFwknopCommand(file: string, opts: { fwknopdConf?: string; open?: string; out?: string; force?: boolean }): number {
  const defaultOpen = openList(opts.open);
  const r = importFwknop({
    accessText: read(file), accessFile: file, reader, nowSec: Math.floor(Date.now() / 1000),
    ...(opts.fwknopdConf !== undefined ? { fwknopdText: read(opts.fwknopdConf), fwknopdFile: opts.fwknopdConf } : {}),
    ...(defaultOpen ? { defaultOpen } : {}),
  });
  return writeImport(r, opts);
}
