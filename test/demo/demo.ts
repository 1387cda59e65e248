/**
 * `sudo make demo`: a narrated tour in throwaway network namespaces (never the host's firewall).
 * A server namespace runs our ruleset, the daemon and a stand-in SSH service; client namespaces
 * knock, send SPA, and try to connect. Every step checks what it narrates; the exit status is
 * non-zero when anything did not behave as told. Ctrl-C cleans up.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, KNOCKCTL, sleep, type Host } from '../integration/support/lab';
import { startDaemon, type RunningDaemon } from '../integration/support/daemon';

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const c = (code: string, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string) => c('1', s);
const dim = (s: string) => c('2', s);
let failures = 0;

function say(s: string): void {
  process.stdout.write(`\n${bold(`▶ ${s}`)}\n`);
}
function show(s: string): void {
  process.stdout.write(`${s.trimEnd().split('\n').map((l) => `    ${dim(l)}`).join('\n')}\n`);
}
function check(okay: boolean, what: string): void {
  if (!okay) failures++;
  process.stdout.write(`  ${okay ? c('32', '✔') : c('31', '✘')} ${what}${okay ? '' : c('31', '   (NOT as expected)')}\n`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('make demo needs root for network namespaces and nftables: sudo make demo\n');
    process.exit(2);
  }
  const lab = new Lab(2);
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-demo-'));
  let daemon: RunningDaemon | undefined;
  const cleanup = async (): Promise<void> => {
    daemon?.child.kill('SIGTERM');
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    await tour(lab, dir, (d) => (daemon = d));
  } finally {
    say('Cleaning up: daemon stopped, namespaces and files deleted');
    await cleanup();
  }
  process.stdout.write(`\n${failures === 0 ? c('32', bold('Demo complete: every step behaved as narrated.')) : c('31', bold(`${failures} step(s) did not behave as narrated.`))}\n`);
  process.exit(failures === 0 ? 0 : 1);
}

async function tour(lab: Lab, dir: string, setDaemon: (d: RunningDaemon) => void): Promise<void> {
  const srv = lab.server;
  const [alice, mallory] = lab.clients as [Host, Host];
  const kc = (...a: string[]) => lab.knockctl(srv.ns, ...a);

  say('Setting up throwaway network namespaces (the host\'s own firewall is not touched)');
  await lab.up();
  show(`server   ${srv.ns}   ${srv.ip4}  ${srv.ip6}\nalice    ${alice.ns}  ${alice.ip4}\nmallory  ${mallory.ns}  ${mallory.ip4}`);
  await lab.service(22);
  show('a stand-in SSH service listens on port 22 in the server namespace');

  const cfg = join(dir, 'config.yaml');
  const config = (clients: string): void => writeFileSync(cfg, `table: knockctl
state_dir: ${dir}/state
doors:
  ssh:
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 10s
    open: ["22/tcp"]
    timeout: 6s
  ssh-spa:
    spa:
      port: 62201
      clients: {${clients}}
    open: ["22/tcp"]
    timeout: 6s
`);
  config('');
  say('The server config: a knock door and an SPA door, both opening 22/tcp for 6 seconds');
  show((await lab.exec(srv.ns, 'cat', cfg)).stdout);
  check((await kc('check-config', '-c', cfg)).code === 0, 'knockctl check-config: the config is valid');

  say('knockctl install-ruleset: one atomic nft transaction, our own table only');
  const inst = await kc('install-ruleset', '-c', cfg);
  show(inst.stdout);
  check(inst.code === 0, 'ruleset installed: policy drop, the door\'s own sets in4_ssh/in6_ssh with per-element timeouts');
  show((await lab.exec(srv.ns, 'nft', 'list', 'chain', 'inet', 'knockctl', 'input')).stdout);

  say('knockctl keygen -c config.yaml --door ssh-spa -n alice -o alice.key (on the server)');
  const keyFile = join(dir, 'alice.key');
  const kg = await kc('keygen', '-c', cfg, '--door', 'ssh-spa', '-n', 'alice', '-o', keyFile, '--host', srv.ip4);
  const entry = /alice: \{ key: "([^"]+)" \}/.exec(kg.stdout)?.[1] ?? '';
  show(kg.stdout.replace(entry, 'base64:…(alice\'s key)…'));
  show(readFileSync(keyFile, 'utf8').replace(/secret: \S+/, 'secret: base64:…'));
  check(kg.code === 0 && entry !== '', 'one key file for this server\'s identity and this door; the entry goes into the config');
  config(` alice: { key: "${entry}" } `);

  const daemon = await startDaemon(lab, cfg, false);
  setDaemon(daemon);
  say('knockctl daemon is running (libpcap sees knocks although the firewall drops them)');
  show(String(daemon.lines.find((l) => l.event === 'start')?.filter ?? ''));

  say('Alice tries SSH before knocking');
  check(!(await lab.connects(alice, srv.ip4, 22)), 'port 22 is closed (the SYN is dropped)');

  say(`Alice knocks: knockctl knock ${srv.ip4} 7000 8000 9000:udp`);
  const k = await lab.exec(alice.ns, process.execPath, KNOCKCTL, 'knock', '-v', srv.ip4, '7000', '8000', '9000:udp');
  show(k.stdout);
  const g = await daemon.event('grant', (l) => l.src === alice.ip4).catch(() => undefined);
  show(daemon.lines.filter((l) => /^knock-|^grant$/.test(String(l.event))).map((l) => String(l.msg)).join('\n'));
  check(g !== undefined, 'the daemon logged Stage 1, Stage 2 and OPEN SESAME');
  check(await lab.connects(alice, srv.ip4, 22), 'Alice can now connect to port 22');
  check(!(await lab.connects(mallory, srv.ip4, 22)), 'Mallory (another address) still cannot');

  say('The audit log is the kernel itself: nft list set inet knockctl in4_ssh');
  show((await lab.exec(srv.ns, 'nft', 'list', 'set', 'inet', 'knockctl', 'in4_ssh')).stdout);
  show((await kc('status', '-c', cfg)).stdout);

  say('Waiting 7 s: the kernel removes the element by itself, no process involved');
  await sleep(7000);
  check(!(await lab.connects(alice, srv.ip4, 22)), 'port 22 is closed again for Alice');

  say(`Single Packet Authorization: knockctl spa ${srv.ip4} -k alice.key (one encrypted UDP datagram)`);
  const saved = join(dir, 'captured.bin');
  const sent = await lab.exec(alice.ns, process.execPath, KNOCKCTL, 'spa', srv.ip4, '-k', keyFile, '--save-packet', saved, '-v');
  show(sent.stderr);
  const packet = readFileSync(saved);
  const send = (from: Host) => lab.exec(from.ns, process.execPath, '-e',
    `const s=require('dgram').createSocket('udp4');s.send(Buffer.from('${packet.toString('hex')}','hex'),62201,'${srv.ip4}',()=>s.close())`);
  const sg = await daemon.event('grant', (l) => l.src === alice.ip4 && l.via === 'spa').catch(() => undefined);
  check(sg !== undefined, `the daemon verified Alice's ${packet.length}-byte datagram and granted 22/tcp`);
  check(await lab.connects(alice, srv.ip4, 22), 'Alice can connect again');

  say('Mallory captured that datagram and replays it from her own address');
  await send(mallory);
  const rej = await daemon.event('spa-reject', (l) => l.src === mallory.ip4).catch(() => undefined);
  show(rej ? `spa-reject: ${String(rej.reason)}` : 'no rejection logged');
  check(rej?.reason === 'replayed', 'the replay is rejected: every nonce is accepted once');
  check(!(await lab.connects(mallory, srv.ip4, 22)), 'Mallory still cannot connect');

  say('Stopping the daemon with SIGKILL: grants keep running down in the kernel');
  daemon.child.kill('SIGKILL');
  await daemon.exited();
  check(await lab.connects(alice, srv.ip4, 22), 'Alice\'s SPA grant still works with no daemon');
  await sleep(6500);
  check(!(await lab.connects(alice, srv.ip4, 22)), 'and it expired on time: nothing was left open');
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
