/**
 * A rotating sequence's parameters (`rotate:` in the server config and in a client.yaml stanza),
 * normalized the same way on both ends: they must agree for the client's knocks to be the server's.
 */
import { DURATION_HINT, parseDuration } from '../core';
import type { RotatingSequence } from './types';

type Segs = (string | number)[];
export type RotateParamsOf = Omit<RotatingSequence, 'type' | 'secretFile'>;

/** Schema-valid `rotate:` data → parameters; problems go to `err` with their path under `segs`. */
export function normalizeRotateParams(r: Record<string, unknown>, segs: Segs, err: (segs: Segs, message: string) => void): RotateParamsOf {
  const ports = String(r.ports ?? '10000-60000').split('-').map(Number);
  const [lo, hi] = [ports[0] ?? 0, ports[1] ?? 0];
  const length = (r.length as number | undefined) ?? 4;
  if (!(lo >= 1 && hi <= 65535 && lo < hi)) err([...segs, 'ports'], `"${String(r.ports)}" is not a port range LOW-HIGH within 1-65535 with LOW < HIGH`);
  else if (hi - lo + 1 < length * 4) err([...segs, 'ports'], `range ${lo}-${hi} is too small for ${length} knocks (need at least ${length * 4} ports)`);
  let stepSec = 30;
  if (r.step !== undefined) {
    const n = parseDuration(r.step as number | string);
    if (n === undefined) err([...segs, 'step'], `${JSON.stringify(r.step)} is not ${DURATION_HINT}`);
    else if (n < 5) err([...segs, 'step'], `${JSON.stringify(r.step)} is too short: at least 5 seconds`);
    else stepSec = n;
  }
  return { length, stepSec, portLow: lo, portHigh: hi, protocols: (r.protocols as ('tcp' | 'udp')[] | undefined) ?? ['tcp'] };
}
