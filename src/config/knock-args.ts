/**
 * The command line of knockd's client, `knock [-u] [-d MS] [-4|-6] [-v] HOST PORT[:PROTO]...`,
 * parsed as knock 0.8 does (getopt_long "vud:hV46": options may follow the operands, `--` ends
 * them, short flags combine, `-d100`/`--delay=100` work). Pure.
 *
 * Two deliberate differences: `-u` only changes ports written without a protocol (knock 0.8's code
 * also turns `PORT:tcp` into UDP, against its own man page), and a protocol other than tcp/udp or a
 * port outside 1-65535 is an error rather than silently TCP / wrapped.
 */
import { type Family, type Outcome, type PortSpec, type Proto, ok, parseKnockStep, reject } from '../core';

export interface KnockArgs {
  readonly action: 'knock';
  readonly host: string;
  readonly steps: readonly PortSpec[];
  readonly delayMs: number;
  readonly family?: Family;
  readonly verbose: boolean;
}

export type KnockCommand = KnockArgs | { readonly action: 'help' } | { readonly action: 'version' };

export const KNOCK_USAGE = 'usage: knock [-u] [-d MS] [-4|-6] [-v] HOST PORT[:PROTO] [PORT[:PROTO]] ...';

const LONG: Record<string, string> = { udp: 'u', delay: 'd', ipv4: '4', ipv6: '6', verbose: 'v', help: 'h', version: 'V' };
/** Longest delay accepted: a minute between knocks is already far past any seq_timeout. */
const MAX_DELAY_MS = 60_000;

type Flags = { udp: boolean; delay: string | undefined; family: Family | undefined; verbose: boolean; help: boolean; version: boolean };

function applyFlag(f: Flags, c: string, value: () => string | undefined): string | undefined {
  switch (c) {
    case 'u': f.udp = true; break;
    case '4': f.family = 4; break;
    case '6': f.family = 6; break;
    case 'v': f.verbose = true; break;
    case 'h': f.help = true; break;
    case 'V': f.version = true; break;
    case 'd': {
      const v = value();
      if (v === undefined) return 'option -d needs a value: the delay in milliseconds, e.g. -d 100';
      f.delay = v;
      break;
    }
    default: return `unknown option "-${c}" (known: -u, -d MS, -4, -6, -v, -V, -h)`;
  }
  return undefined;
}

/** Split argv into flags and operands, as GNU getopt with permutation does. */
function scan(argv: readonly string[]): Outcome<{ f: Flags; operands: string[] }> {
  const f: Flags = { udp: false, delay: undefined, family: undefined, verbose: false, help: false, version: false };
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    let err: string | undefined;
    if (a.startsWith('--')) {
      const [name, inline] = [a.slice(2).split('=')[0] as string, a.includes('=') ? a.slice(a.indexOf('=') + 1) : undefined];
      const c = LONG[name];
      if (c === undefined) return reject('bad-usage', `unknown option "${a}" (known: --udp, --delay MS, --ipv4, --ipv6, --verbose, --version, --help)`);
      if (c !== 'd' && inline !== undefined) return reject('bad-usage', `option --${name} takes no value`);
      err = applyFlag(f, c, () => inline ?? argv[++i]);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length && !err; j++) {
        const c = a[j] as string;
        if (c === 'd') {
          const rest = a.slice(j + 1);
          err = applyFlag(f, c, () => (rest !== '' ? rest : argv[++i]));
          break;
        }
        err = applyFlag(f, c, () => undefined);
      }
    } else {
      operands.push(a);
    }
    if (err) return reject('bad-usage', err);
  }
  return ok({ f, operands });
}

/** Parse `knock`'s arguments (without the program name). */
export function parseKnockArgs(argv: readonly string[]): Outcome<KnockCommand> {
  const s = scan(argv);
  if (!s.ok) return s;
  const { f, operands } = s.value;
  if (f.help) return ok({ action: 'help' });
  if (f.version) return ok({ action: 'version' });
  if (operands.length < 2) return reject('bad-usage', `need a host and at least one port\n${KNOCK_USAGE}`);
  let delayMs = 0;
  if (f.delay !== undefined) {
    if (!/^[0-9]+$/.test(f.delay) || Number(f.delay) > MAX_DELAY_MS) return reject('bad-usage', `-d "${f.delay}" is not a delay in milliseconds 0-${MAX_DELAY_MS}`);
    delayMs = Number(f.delay);
  }
  const [host, ...ports] = operands as [string, ...string[]];
  if (host === '') return reject('bad-usage', 'the host is empty');
  const dflt: Proto = f.udp ? 'udp' : 'tcp';
  const steps: PortSpec[] = [];
  for (const p of ports) {
    const r = parseKnockStep(p.includes(':') ? p : `${p}:${dflt}`);
    if (!r.ok) return reject('bad-usage', r.reason === 'bad-port' ? `"${p}" is not a port 1-65535` : `"${p}" is not of the form PORT[:PROTO] with PROTO tcp or udp (e.g. 7000:udp)`);
    steps.push(r.value);
  }
  return ok({ action: 'knock', host, steps, delayMs, verbose: f.verbose, ...(f.family ? { family: f.family } : {}) });
}
