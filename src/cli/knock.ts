/**
 * `knockctl knock`: the client, argument-compatible with knockd's `knock` (parsed by
 * config/knock-args.ts, not by commander), plus `--door NAME` for rotating sequences, whose knocks are
 * derived here from the door's secret and parameters in a client.yaml stanza. The client never needs
 * the server's config (which holds every SPA key).
 */
import { readFileSync, statSync } from 'node:fs';
import { UsageError, VERSION, formatKnockStep, type PortSpec } from '../core';
import { KNOCK_USAGE, parseKnockArgs } from '../config/knock-args';
// The module, not the folder's index: a plain knock must not load the knock engine. What only a
// rotating door needs (the client config loader: yaml, ajv; the key-mode check: crypto) is
// required in its path, so `knockctl knock HOST PORTS` starts fast.
import { deriveSequence, parseSecret, stepCounter } from '../knock/rotate';
import { sendKnocks } from '../io/knock-sender';
/* eslint-disable @typescript-eslint/no-require-imports */
const spaKeys = () => require('../spa/keys') as typeof import('../spa/keys');
const clientFile = () => require('./client-file') as typeof import('./client-file');
/* eslint-enable @typescript-eslint/no-require-imports */
import { fileError } from './system-errors';

const HELP = `${KNOCK_USAGE}
       knockctl knock [-d MS] [-4|-6] [-v] --door NAME [-c CLIENT_CONFIG] [--secret FILE] [HOST]

  -u, --udp        ports without a protocol are UDP (default TCP)
  -d, --delay MS   wait MS milliseconds between knocks
  -4, -6           use IPv4 / IPv6 only
  -v, --verbose    print each knock
  --door NAME      knock the current sequence of the rotating door in stanza NAME of the client
                   config (host, rotate: secret_file and the door's parameters)
  -c, --client-config FILE
                   the client config (default: $KNOCKCTL_CLIENT_CONFIG or ~/.config/knockctl/client.yaml)
  --secret FILE    use this secret file instead of the stanza's

A stanza for a rotating door (copy length, step, ports and protocols from the server's door):

  rot:
    host: server.example
    rotate: { secret_file: ~/.config/knockctl/rot.secret, length: 4, step: 30s, ports: 10000-60000 }

Examples:
  knockctl knock server.example 7000 8000 9000:udp
  knockctl knock -d 200 -v 2001:db8::10 7000 8000 9000
  knockctl knock --door rot && ssh server.example
`;

/** Pull `--door`, `--secret`, `-c/-C/--client-config` out of argv; the rest is knock's own syntax. */
function splitOwn(argv: readonly string[]): { own: Record<string, string>; rest: string[] } {
  const own: Record<string, string> = {};
  const rest: string[] = [];
  const names: Record<string, string> = { '--door': 'door', '--secret': 'secret', '-c': 'clientConfig', '-C': 'clientConfig', '--client-config': 'clientConfig' };
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

/** Read a secret file, refusing one that group or others can read (as key files are refused). */
function readSecretFile(file: string): Uint8Array {
  let raw: Buffer;
  try {
    const mode = spaKeys().checkKeyFileMode(statSync(file).mode, file);
    if (!mode.ok) throw new UsageError(mode.detail ?? `${file}: group or others may read it; run chmod 600 ${file}`);
    raw = readFileSync(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw fileError('secret file', file, e);
  }
  const secret = parseSecret(new Uint8Array(raw));
  if (!secret.ok) throw new UsageError(`${file}: ${secret.detail ?? secret.reason}`);
  return secret.value;
}

/** The current knocks of the rotating door of stanza `own.door`, and the stanza's host. */
function rotatingSteps(own: Record<string, string>): { host: string; steps: PortSpec[] } {
  const { expandHome, readClientStanza } = clientFile();
  const st = readClientStanza(own.door as string, own.clientConfig);
  if (!st.rotate) throw new UsageError(`stanza "${own.door}" has no rotate: (it is an SPA stanza: knockctl spa ${own.door})`);
  const secret = readSecretFile(expandHome(own.secret ?? st.rotate.secretFile));
  return { host: st.host, steps: deriveSequence(secret, stepCounter(Date.now(), st.rotate.stepSec), st.rotate) };
}

export async function knockCommand(argv: readonly string[]): Promise<number> {
  const { own, rest } = splitOwn(argv);
  const rotating = own.door !== undefined;
  if (own.secret !== undefined && !rotating) throw new UsageError('--secret goes with --door NAME');
  // knock's parser wants a host and at least one port; a rotating door's come from its stanza
  // (the host unless given): parse with a stand-in port, then with a stand-in host too.
  let parsed = parseKnockArgs(rotating ? [...rest, '1'] : rest);
  let hostGiven = true;
  if (rotating && !parsed.ok) {
    const withoutHost = parseKnockArgs([...rest, '-', '1']);
    if (withoutHost.ok) [parsed, hostGiven] = [withoutHost, false];
  }
  if (!parsed.ok) throw new UsageError(parsed.detail ?? parsed.reason);
  if (parsed.value.action === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.value.action === 'version') {
    process.stdout.write(`knockctl knock (nftknock) ${VERSION}\n`);
    return 0;
  }
  const args = parsed.value;
  if (rotating && args.steps.length !== 1) throw new UsageError('with --door, give at most the host: the ports come from the rotating sequence');
  const door = rotating ? rotatingSteps(own) : undefined;
  const steps = door ? door.steps : args.steps;
  const host = door && !hostGiven ? door.host : args.host;
  const verbose = args.verbose ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  if (verbose && rotating) verbose(`door ${own.door}: ${steps.map(formatKnockStep).join(' ')} to ${host}`);
  await sendKnocks(host, steps, { delayMs: args.delayMs, ...(args.family ? { family: args.family } : {}), ...(verbose ? { verbose } : {}) });
  return 0;
}
