/** The client config file (`~/.config/knockctl/client.yaml`): where it is, and one stanza of it. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core';
import { loadClientConfigText, type ClientStanza } from '../spa/client-config';

/** `--client-config FILE`, or $KNOCKCTL_CLIENT_CONFIG, or `~/.config/knockctl/client.yaml`. */
export function clientConfigPath(opt: string | undefined): { file: string; explicit: boolean } {
  const explicit = opt ?? process.env.KNOCKCTL_CLIENT_CONFIG;
  return explicit ? { file: explicit, explicit: true } : { file: join(homedir(), '.config/knockctl/client.yaml'), explicit: false };
}

export const expandHome = (p: string): string => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);

/** The stanza `name` of the client config; a UsageError naming the file when it or the stanza is missing. */
export function readClientStanza(name: string, opt: string | undefined): ClientStanza {
  const { file } = clientConfigPath(opt);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read client config ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message}`);
  }
  const st = loadClientConfigText(text, file).get(name);
  if (!st) throw new UsageError(`${file} has no stanza "${name}"`);
  return st;
}
