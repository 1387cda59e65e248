/** Running `knockctl daemon` inside a Lab namespace and reading its JSON log lines. */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKCTL, NODE_FLAGS, type Lab } from './lab';

export type LogLine = Record<string, unknown> & { event?: string; msg?: string };

export class RunningDaemon {
  readonly lines: LogLine[] = [];
  private waiters: { pred: (l: LogLine) => boolean; res: (l: LogLine) => void }[] = [];
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += String(d);
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const p of parts) {
        if (!p.trim()) continue;
        let line: LogLine;
        try {
          line = JSON.parse(p) as LogLine;
        } catch {
          line = { msg: p };
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.pred(line) ? (w.res(line), false) : true));
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += String(d);
    });
  }

  /** Resolve with the first log line (past or future) matching `pred`; reject after `ms`. */
  waitFor(pred: (l: LogLine) => boolean, ms = 5000, what = 'log line'): Promise<LogLine> {
    const hit = this.lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no ${what} within ${ms} ms; log:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.stderr}`)), ms);
      this.waiters.push({ pred, res: (l) => (clearTimeout(timer), res(l)) });
    });
  }

  event(name: string, extra: (l: LogLine) => boolean = () => true, ms = 5000): Promise<LogLine> {
    return this.waitFor((l) => l.event === name && extra(l), ms, `"${name}" event`);
  }

  count(name: string, extra: (l: LogLine) => boolean = () => true): number {
    return this.lines.filter((l) => l.event === name && extra(l)).length;
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((r) => this.child.once('exit', (code) => r(code)));
  }
}

/** A temp dir for a test's config, state and key files. */
export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'knockctl-d-'));
}

export function writeConfig(dir: string, text: string, name = 'config.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * The knock door most tests use, in table `kt`: door `ssh`, 7000/tcp 8000/tcp 9000/udp within 5 s,
 * opening 22/tcp for `timeout` seconds. `doorLines`: more lines of that door (4-space indent);
 * `after`: more text after it (other doors, 2-space indent).
 */
export function sshDoorConfig(dir: string, opts: { timeout?: number; doorLines?: string; after?: string } = {}): string {
  return writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  ssh:
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 5
    open: ["22/tcp"]
    timeout: ${opts.timeout ?? 30}
${opts.doorLines ?? ''}${opts.after ?? ''}`);
}

/** install-ruleset, then start the daemon and wait until it captures. */
export async function startDaemon(lab: Lab, config: string, install = true): Promise<RunningDaemon> {
  if (install) {
    const r = await lab.knockctl(lab.server.ns, 'install-ruleset', '-c', config);
    if (r.code !== 0) throw new Error(`install-ruleset failed: ${r.stderr}`);
  }
  const d = new RunningDaemon(lab.start(lab.server.ns, process.execPath, [...NODE_FLAGS, KNOCKCTL, 'daemon', '-c', config]));
  await d.event('start', undefined, 8000);
  return d;
}
