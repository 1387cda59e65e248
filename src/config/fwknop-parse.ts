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
  /** Line of its SOURCE. */
  readonly line: number;
  readonly vars: ReadonlyMap<string, FwknopValue>;
}

/** access.conf: stanzas (each from a SOURCE line), and the variables seen before the first one. */
export function parseAccessConf(text: string): { stanzas: FwknopStanza[]; outside: FwknopVar[]; bad: number[] } {
  const { vars, bad } = parseFwknopVars(text);
  const stanzas: { num: number; line: number; vars: Map<string, FwknopValue> }[] = [];
  const outside: FwknopVar[] = [];
  for (const v of vars) {
    if (v.name === 'SOURCE') stanzas.push({ num: stanzas.length + 1, line: v.line, vars: new Map() });
    const cur = stanzas[stanzas.length - 1];
    // %include lines belong to no stanza; fwknopd reads them as files of their own.
    if (!cur || v.name.startsWith('%')) outside.push(v);
    else cur.vars.set(v.name, { value: v.value, line: v.line });
  }
  return { stanzas, outside, bad };
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
