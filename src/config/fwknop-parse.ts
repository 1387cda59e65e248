/**
 * fwknopd's config files (access.conf, fwknopd.conf) → variables with their line numbers. Pure.
 *
 * The syntax, as fwknopd reads it (config_init.c, access.c): a line whose first character is `#`,
 * `;`, CR or LF, or an empty line, is skipped (only the first character counts); otherwise
 * `sscanf("%s %[^;\n\r]")`: the variable is the first word (a trailing `:` is dropped), the value
 * runs from the next non-blank character to the first `;` or end of line, trailing blanks cut.
 * In access.conf every `SOURCE` starts a new stanza.
 */

export interface FwknopValue {
  readonly value: string;
  /** 1-based line. */
  readonly line: number;
}

export interface FwknopVar extends FwknopValue {
  /** Upper case, as fwknopd compares them. */
  readonly name: string;
}

/** Every variable of a file, in order, and the lines that could not be read. */
export function parseFwknopVars(text: string): { vars: FwknopVar[]; bad: number[] } {
  const vars: FwknopVar[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const first = line[0];
    if (first === undefined || first === '#' || first === ';') return;
    if (line.trim() === '') return;
    const m = /^\s*(\S+)\s+([^;]*)/.exec(line);
    const value = m?.[2]?.trimEnd() ?? '';
    if (!m || value === '') {
      bad.push(i + 1);
      return;
    }
    vars.push({ name: (m[1] as string).replace(/:$/, '').toUpperCase(), value, line: i + 1 });
  });
  return { vars, bad };
}

export interface FwknopStanza {
  /** 1-based stanza number, as fwknopd logs it (`stanza #N`). */
  readonly num: number;
  /** The file it is in (access.conf, or one it includes) and the line of its SOURCE. */
  readonly file: string;
  readonly line: number;
  readonly vars: ReadonlyMap<string, FwknopValue>;
}

/** Reads what access.conf includes (I/O stays with the caller: the CLI passes the file system). */
export interface AccessReader {
  /** The file's text; throws with a clear message when it cannot be read. */
  read(path: string): string;
  /** The `.conf` files of a directory (`%include_folder`), full paths, sorted; throws when unreadable. */
  list(dir: string): string[];
}

export interface AccessFiles {
  readonly stanzas: FwknopStanza[];
  /** Variables before a file's first SOURCE, and `%include` directives when there is no reader. */
  readonly outside: (FwknopVar & { readonly file: string })[];
  readonly bad: { readonly file: string; readonly line: number; readonly message: string }[];
}

const MAX_INCLUDE_DEPTH = 8;

/**
 * access.conf and the files it includes, in fwknopd's order: an included file's stanzas come where
 * its `%include` / `%include_folder` line is; each stanza knows its file. Every `SOURCE` starts a
 * stanza; until the next one, variables belong to it (within one file). Without a reader,
 * `%include` lines are returned in `outside`, not followed.
 */
export function parseAccessConf(text: string, file: string, reader?: AccessReader): AccessFiles {
  const out: { stanzas: FwknopStanza[]; outside: (FwknopVar & { file: string })[]; bad: { file: string; line: number; message: string }[] } = { stanzas: [], outside: [], bad: [] };
  const include = (v: FwknopVar, from: string, chain: readonly string[]): void => {
    let files: string[];
    try {
      files = v.name === '%INCLUDE' ? [v.value] : (reader as AccessReader).list(v.value);
    } catch (e) {
      out.bad.push({ file: from, line: v.line, message: `${v.name} ${v.value}: ${(e as Error).message}` });
      return;
    }
    for (const f of files) {
      if (chain.includes(f) || chain.length >= MAX_INCLUDE_DEPTH) {
        out.bad.push({ file: from, line: v.line, message: `${v.name} ${f}: included from itself, or nested more than ${MAX_INCLUDE_DEPTH} deep` });
        continue;
      }
      let t: string;
      try {
        t = (reader as AccessReader).read(f);
      } catch (e) {
        out.bad.push({ file: from, line: v.line, message: `${v.name} ${f}: ${(e as Error).message}` });
        continue;
      }
      walk(t, f, [...chain, f]);
    }
  };
  const walk = (t: string, f: string, chain: readonly string[]): void => {
    const { vars, bad } = parseFwknopVars(t);
    for (const l of bad) out.bad.push({ file: f, line: l, message: 'not a "VARIABLE value" line' });
    let cur: { vars: Map<string, FwknopValue> } | undefined;
    for (const v of vars) {
      if ((v.name === '%INCLUDE' || v.name === '%INCLUDE_FOLDER') && reader) {
        include(v, f, chain);
        continue;
      }
      if (v.name === 'SOURCE') {
        cur = { vars: new Map() };
        out.stanzas.push({ num: out.stanzas.length + 1, file: f, line: v.line, vars: cur.vars });
      }
      if (cur && !v.name.startsWith('%')) cur.vars.set(v.name, { value: v.value, line: v.line });
      else out.outside.push({ ...v, file: f });
    }
  };
  walk(text, file, [file]);
  return out;
}

/** fwknopd.conf: the last value of each variable (fwknopd keeps the last). */
export function parseFwknopdConf(text: string): { vars: Map<string, FwknopValue>; bad: number[] } {
  const { vars, bad } = parseFwknopVars(text);
  return { vars: new Map(vars.map((v) => [v.name, { value: v.value, line: v.line }])), bad };
}

/** fwknop's Y/N: only the first letter counts, case-insensitive. */
export function isYes(v: FwknopValue | undefined): boolean {
  return v !== undefined && /^y/i.test(v.value);
}
