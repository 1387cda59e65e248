/**
 * A server whose client link is a bridge port: libpcap's `any` sees each knock twice (the port, then
 * the bridge). The daemon drops the port's copies in the kernel (daemon/capture-skip.ts), so no
 * duplicate reaches it and knocks still open; a door tied to the port keeps the port's frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upLab, Lab, KNOCKCTL, skipReason, sleep, type Host } from './support/lab';
import { scratch, sshDoorConfig, startDaemon, type RunningDaemon } from './support/daemon';

const skip = skipReason();

/** The client's link on the server becomes a port of a new bridge, which takes the link's address. */
async function bridgeClientLink(l: Lab): Promise<{ bridge: string; port: string }> {
  const ns = l.server.ns;
  const port = `${l.id}v1`;
  const bridge = `${l.id}b`;
  const v4 = (await l.sh(ns, 'ip', '-o', '-4', 'addr', 'show', 'dev', port)).split(/\s+/)[3] as string;
  await l.sh(ns, 'ip', 'link', 'add', bridge, 'type', 'bridge');
  await l.sh(ns, 'ip', 'addr', 'flush', 'dev', port);
  await l.sh(ns, 'ip', 'link', 'set', port, 'master', bridge);
  await l.sh(ns, 'ip', 'addr', 'add', v4, 'dev', bridge);
  await l.sh(ns, 'ip', 'link', 'set', bridge, 'up');
  return { bridge, port };
}

const config = (dir: string, doorLines = ''): string => sshDoorConfig(dir, { doorLines });

interface Counters { packets: number; duplicates: number; knock_successes: number }

/** The daemon's counters once its status file shows `successes` (written every 5 s; bounded wait). */
async function countersAfter(l: Lab, cfg: string, successes: number): Promise<Counters> {
  let last: Counters | undefined;
  for (let i = 0; i < 40; i++) {
    const r = await l.knockctl(l.server.ns, 'status', '-c', cfg, '--json');
    last = (JSON.parse(r.stdout) as { daemon?: { counters?: Counters } }).daemon?.counters;
    if (last && last.knock_successes >= successes) return last;
    await sleep(300);
  }
  throw new Error(`the status never showed ${successes} knock success(es): ${JSON.stringify(last)}`);
}

async function knockOpens(l: Lab, d: RunningDaemon, a: Host): Promise<void> {
  await l.exec(a.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', l.server.ip4, '7000', '8000', '9000:udp');
  await d.event('grant', (x) => x.src === a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the knock opened the service');
}

test('knocks through a bridge port: the port\'s copies are dropped in the kernel, none reaches the daemon, the knock opens', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const a = l.clients[0] as Host;
  const { bridge, port } = await bridgeClientLink(l);
  await l.service(22);
  const dir = scratch();
  const cfg = config(dir);
  const d = await startDaemon(l, cfg);
  const skipped = await d.event('capture-skip');
  assert.deepEqual(skipped.interfaces, [port]);
  assert.match(String(skipped.msg), new RegExp(`${port} \\(in ${bridge}\\) dropped in the kernel`));
  await knockOpens(l, d, a);
  const c = await countersAfter(l, cfg, 1);
  assert.ok(c.packets >= 3, `the three knocks were captured (${c.packets})`);
  assert.equal(c.duplicates, 0, 'no second copy reached the daemon');
});

test('a door tied to the bridge port keeps the port\'s frames (the bridge\'s copies are the duplicates then)', { skip }, async (t) => {
  const l = await upLab(t, 1);
  const a = l.clients[0] as Host;
  const { port } = await bridgeClientLink(l);
  await l.service(22);
  const dir = scratch();
  const cfg = config(dir, `    interfaces: [${port}]\n`);
  const d = await startDaemon(l, cfg);
  await knockOpens(l, d, a);
  assert.equal(d.count('capture-skip'), 0, 'nothing skipped');
  const c = await countersAfter(l, cfg, 1);
  assert.ok(c.duplicates >= 3, `each knock also came through the bridge (${c.duplicates} duplicates)`);
});
