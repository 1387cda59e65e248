/** The one place that maps errors to exit codes and messages: 0 ok, 1 runtime failure, 2 usage or config. */
import { ConfigError, KnockctlError, UsageError } from '../core';
import { fromSystemError } from './system-errors';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

export function exitCodeOf(e: unknown): number {
  const err = fromSystemError(e) ?? e;
  if (err instanceof ConfigError || err instanceof UsageError) return EXIT_USAGE;
  return EXIT_RUNTIME;
}

/** One clear message (a stack trace only with --debug). */
export function messageOf(e: unknown, debug: boolean): string {
  if (debug && e instanceof Error && e.stack) return e.stack;
  const sys = fromSystemError(e);
  if (sys) return `knockctl: ${sys.message}`;
  if (e instanceof KnockctlError) return `knockctl: ${e.message}`;
  if (e instanceof Error) return `knockctl: internal error: ${e.message} (run with --debug for details)`;
  return `knockctl: internal error: ${String(e)}`;
}

/** Run a command body and exit with the right code. */
export async function runCommand(body: () => Promise<number | void>, debug: () => boolean): Promise<never> {
  let code = EXIT_OK;
  try {
    code = (await body()) ?? EXIT_OK;
  } catch (e) {
    process.stderr.write(`${messageOf(e, debug())}\n`);
    code = exitCodeOf(e);
  }
  return process.exit(code);
}
