/**
 * knockd.conf text → sections and directives with their line numbers. Pure.
 *
 * The syntax, as knockd's parseconfig() reads it: each line is trimmed; empty lines and lines
 * starting with `#` are skipped (there are no trailing comments: a `#` after a value is part of
 * it); `[name]` opens a section, `[options]` being the global one; a directive is `KEY = VALUE`,
 * split at the first `=`, key case-insensitive, both sides trimmed; `UseSyslog` is the one
 * directive without `=`. Unlike knockd, every problem is collected, not just the first.
 */
import type { ConfigIssue } from '../core';

/** A directive's value and the 1-based line it was on. */
export interface KnockdValue {
  readonly value: string;
  readonly line: number;
}

/** One `[name]` section other than `[options]`, keys in canonical lower case (aliases resolved). */
export interface KnockdSection {
  readonly name: string;
  readonly line: number;
  readonly keys: ReadonlyMap<string, KnockdValue>;
}

export interface KnockdFile {
  /** `logfile`, `pidfile`, `interface`, `usesyslog` (value ''). */
  readonly options: ReadonlyMap<string, KnockdValue>;
  readonly doors: readonly KnockdSection[];
}

const OPTION_KEYS = new Set(['logfile', 'pidfile', 'interface']);

/** Door directives, with knockd's aliases (`timeout`, `command`, `command_6`). */
const DOOR_KEYS: Record<string, string> = {
  sequence: 'sequence',
  one_time_sequences: 'one_time_sequences',
  seq_timeout: 'seq_timeout',
  timeout: 'seq_timeout',
  tcpflags: 'tcpflags',
  start_command: 'start_command',
  command: 'start_command',
  start_command_6: 'start_command_6',
  command_6: 'start_command_6',
  stop_command: 'stop_command',
  stop_command_6: 'stop_command_6',
  cmd_timeout: 'cmd_timeout',
  target: 'target',
};

type Section = { name: string; line: number; keys: Map<string, KnockdValue> };

/** Parse knockd.conf text. Returns every issue found, each with its line. */
export function parseKnockdText(text: string): { ok: true; file: KnockdFile } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const options = new Map<string, KnockdValue>();
  const doors: Section[] = [];
  let current: Section | 'options' | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    if (s.startsWith('[') && s.endsWith(']')) {
      const name = s.slice(1, -1).trim();
      if (name === '') issues.push({ path: '', message: 'bad section name: "[]" (expected [options] or [door-name])', line });
      else if (name.toLowerCase() === 'options') current = 'options';
      else doors.push((current = { name, line, keys: new Map() }));
      return;
    }
    if (current === undefined) {
      issues.push({ path: '', message: `"${s}" is outside a section: every directive belongs to [options] or to a door such as [openSSH]`, line });
      return;
    }
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : s.slice(eq + 1).trim();
    const where = current === 'options' ? 'options' : current.name;
    if (key === 'usesyslog') {
      if (value !== undefined) issues.push({ path: where, message: 'UseSyslog takes no value (write just "UseSyslog")', line });
      else options.set('usesyslog', { value: '', line });
      return;
    }
    if (value === undefined) {
      issues.push({ path: where, message: `"${s}" is not a directive of the form KEY = VALUE`, line });
      return;
    }
    const canon = current === 'options' ? (OPTION_KEYS.has(key) ? key : undefined) : DOOR_KEYS[key];
    if (canon === undefined) {
      const known = current === 'options' ? 'UseSyslog, LogFile, PidFile, Interface' : 'Sequence, One_Time_Sequences, Seq_Timeout, TCPFlags, Start_Command, Command, Stop_Command, Cmd_Timeout, Target';
      issues.push({ path: where, message: `unknown key "${s.slice(0, eq).trim()}" in [${where}] (known: ${known})`, line });
      return;
    }
    const keys = current === 'options' ? options : current.keys;
    const prev = keys.get(canon);
    if (prev) {
      issues.push({ path: `${where}.${canon}`, message: `is set twice (first on line ${prev.line})`, line });
      return;
    }
    keys.set(canon, { value, line });
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, file: { options, doors } };
}
