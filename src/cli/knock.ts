/**
 * `knockctl knock`: the client, argument-compatible with knockd's `knock` (parsed by
 * config/knock-args.ts, not by commander), plus `--door NAME --secret FILE` for rotating sequences,
 * whose knocks are derived here from the door's parameters in the config file.
 */
import { readFileSync } from 'node:fs';
import { UsageError, formatKnockStep, type PortSpec } from '../core';
import { KNOCK_USAGE, parseKnockArgs } from '../config/knock-args';
import { deriveSequence, parseSecret, stepCounter } from '../knock';
import { sendKnocks } from '../io/knock-sender';
import { configPath, readConfig } from './context';
import { fileError } from './system-errors';

const HELP = `${KNOCK_USAGE}
       knockctl knock [-d MS] [-4|-6] [-v] --door NAME --secret FILE [-c CONFIG] HOST

  -u, --udp        ports without a protocol are UDP (default TCP)
  -d, --delay MS   wait MS milliseconds between knocks
  -4, -6           use IPv4 / IPv6 only
  -v, --verbose    print each knock
  --door NAME      knock the current sequence of rotating door NAME (needs its parameters: -c CONFIG)
  --secret FILE    the rotating door's shared secret

Examples:
  knockctl knock server.example 7000 8000 9000:udp
  knockctl knock -d 200 -v 2001:db8::10 7000 8000 9000
  knockctl knock --door rot --secret ~/.config/knockctl/rot.secret -c ./server-config.yaml server.example
`;

/** Pull `--door`, `--secret`, `-c/--config` out of argv; the rest is knock's own syntax. */
function splitOwn(argv: readonly string[]): { own: Record<string, string>; rest: string[] } {
  const own: Record<string, string> = {};
  const rest: string[] = [];
  const names: Record<string, string> = { '--door': 'door', '--secret': 'secret', '-c': 'config', '--config': 'config' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf('=');
    const key = names[eq > 0 ? a.slice(0, eq) : a];
    if (!key) {
      rest.push(a);
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) throw new UsageError(`${a} needs a value\n${KNOCK_USAGE}`);
    own[key] = v;
  }
  return { own, rest };
}

function rotatingSteps(own: Record<string, string>): PortSpec[] {
  if (!own.secret) throw new UsageError('--door needs --secret FILE (the rotating door\'s shared secret)');
  const { config } = readConfig(configPath(own.config));
  const d = config.doors.find((x) => x.name === own.door);
  if (!d || d.kind !== 'knock' || d.sequence.type !== 'rotate') throw new UsageError(`door "${own.door}" is not a rotating knock door in ${configPath(own.config)}`);
  let raw: Buffer;
  try {
    raw = readFileSync(own.secret);
  } catch (e) {
    throw fileError('secret file', own.secret, e);
  }
  const secret = parseSecret(new Uint8Array(raw));
  if (!secret.ok) throw new UsageError(`${own.secret}: ${secret.detail ?? secret.reason}`);
  return deriveSequence(secret.value, stepCounter(Date.now(), d.sequence.stepSec), d.sequence);
}

export async function knockCommand(argv: readonly string[]): Promise<number> {
  const { own, rest } = splitOwn(argv);
  const rotating = own.door !== undefined;
  // knock's parser wants at least one port; a rotating door's ports come from the secret.
  const parsed = parseKnockArgs(rotating ? [...rest, '1'] : rest);
  if (!parsed.ok) throw new UsageError(parsed.detail ?? parsed.reason);
  if (parsed.value.action === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.value.action === 'version') {
    process.stdout.write('knockctl knock (nftknock) 0.1.0\n');
    return 0;
  }
  const args = parsed.value;
  if (rotating && args.steps.length !== 1) throw new UsageError('with --door, give only the host: the ports come from the rotating sequence');
  const steps = rotating ? rotatingSteps(own) : args.steps;
  const verbose = args.verbose ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  if (verbose && rotating) verbose(`door ${own.door}: ${steps.map(formatKnockStep).join(' ')}`);
  await sendKnocks(args.host, steps, { delayMs: args.delayMs, ...(args.family ? { family: args.family } : {}), ...(verbose ? { verbose } : {}) });
  return 0;
}
