/**
 * The structured logger: pino JSON lines to stdout (journald keeps them). One event per happening,
 * with stable field names. Secrets and whole packets are never logged.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Every `event` value the program logs: the one list, so names stay stable. */
export const EVENTS = [
  'start', 'stop', 'reload', 'reload-failed', 'config-warning',
  'knock-stage', 'knock-success', 'knock-reset', 'knock-evicted', 'knock-ignored',
  'grant', 'grant-failed', 'set-full', 'revoke', 'revoke-failed', 'hook', 'hook-failed',
  'spa-accept', 'spa-reject', 'replay-state', 'spa-identity',
  'nft-error', 'nft-transport', 'ruleset-missing', 'ruleset-installed', 'ruleset-foreign',
  'internal-error', 'metrics', 'capture-skip',
] as const;
export type EventName = (typeof EVENTS)[number];

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a sink and parse its lines. */
  readonly destination?: DestinationStream;
}

export type AppLogger = PinoLogger;

export function createLogger(opts: LoggerOptions = {}): AppLogger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { name: 'knockctl' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
