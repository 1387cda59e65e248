/**
 * knockd-style command hooks, run without a shell: each argument has %IP%, %PORT% and %PROTO%
 * substituted, then execFile runs the list as is, killed after the timeout.
 */
import { execFile } from 'node:child_process';

export interface HookResult {
  readonly ok: boolean;
  readonly code: number | null;
  readonly stderr: string;
}

export interface HookRunner {
  run(argv: readonly string[], vars: Readonly<Record<string, string>>, timeoutMs: number): Promise<HookResult>;
}

export function substitute(argv: readonly string[], vars: Readonly<Record<string, string>>): string[] {
  return argv.map((a) => a.replace(/%(IP|PORT|PROTO)%/g, (m, k: string) => vars[k] ?? m));
}

export class ExecHookRunner implements HookRunner {
  run(argv: readonly string[], vars: Readonly<Record<string, string>>, timeoutMs: number): Promise<HookResult> {
    const [cmd, ...args] = substitute(argv, vars);
    return new Promise((resolve) => {
      if (!cmd) {
        resolve({ ok: false, code: null, stderr: 'empty command' });
        return;
      }
      execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, _out, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
        resolve({ ok: !err, code, stderr: String(stderr).slice(0, 500) || (err ? err.message : '') });
      });
    });
  }
}
