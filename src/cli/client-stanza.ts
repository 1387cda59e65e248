/**
 * `knockctl client-stanza DOOR`: the client.yaml stanza for a rotating knock door, printed from the
 * server config: the door's parameters and where the client keeps its copy of the secret. Never the
 * secret itself, never anything else of the server config.
 */
import { UsageError, formatDuration } from '../core';
import { configPath, readConfig } from './context';

export function clientStanzaCommand(door: string, opts: { config?: string; host?: string }): number {
  const file = configPath(opts.config);
  const { config } = readConfig(file);
  const d = config.doors.find((x) => x.name === door);
  if (!d || d.kind !== 'knock' || d.sequence.type !== 'rotate') {
    const rotating = config.doors.filter((x) => x.kind === 'knock' && x.sequence.type === 'rotate').map((x) => x.name);
    throw new UsageError(`"${door}" is not a rotating knock door in ${file}${rotating.length ? ` (rotating doors: ${rotating.join(', ')})` : ''}`);
  }
  const s = d.sequence;
  const host = opts.host ?? 'SERVER';
  process.stdout.write(
    `# ~/.config/knockctl/client.yaml on the client; copy ${s.secretFile} to the client as\n` +
      `# ~/.config/knockctl/${door}.secret (mode 0600), then: knockctl knock --door ${door}\n` +
      `${door}:\n` +
      `  host: ${host}\n` +
      `  rotate:\n` +
      `    secret_file: ~/.config/knockctl/${door}.secret\n` +
      `    length: ${s.length}\n` +
      `    step: ${formatDuration(s.stepSec)}\n` +
      `    ports: ${s.portLow}-${s.portHigh}\n` +
      `    protocols: [${s.protocols.join(', ')}]\n`,
  );
  return 0;
}
