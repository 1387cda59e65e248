/**
 * Per-door `interfaces` end to end, with the default capture `interfaces: [any]`: a knock door and
 * an SPA door fire only for packets arriving on their interfaces, and an interface that appears
 * after the daemon started, or is deleted and created again (a new ifindex), keeps matching
 * without a restart.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { upLab, Lab, KNOCKCTL, skipReason, sleep, type Host } from './support/lab';
import { scratch, sshDoorConfig, startDaemon, writeConfig, type RunningDaemon } from './support/daemon';

const skip = skipReason();

function knock(l: Lab, from: Host, ...ports: string[]): Promise<unknown> {
  return l.exec(from.ns, process.execPath, KNOCKCTL, 'knock', '-d', '20', l.server.ip4, ...ports);
}

/** The server-side veth of client `n` (lab.ts names it `<id>v<n>`). */
const serverLink = (l: Lab, n: number): string => `${l.id}v${n}`;

/** What Lab.up() does for client `n`'s link, IPv4 only: a veth pair, addresses, the route to the server. */
async function link(l: Lab, n: number): Promise<void> {
  const c = l.clients[n - 1] as Host;
  const [sv, cv] = [serverLink(l, n), `${l.id}w${n}`];
  const net = (/^10\.(\d+)\./.exec(l.server.ip4) as RegExpExecArray)[1];
  await l.sh(l.server.ns, 'ip', 'link', 'add', sv, 'type', 'veth', 'peer', 'name', cv, 'netns', c.ns);
  await l.sh(l.server.ns, 'ip', 'addr', 'add', `10.${net}.${n}.1/24`, 'dev', sv);
  await l.sh(c.ns, 'ip', 'addr', 'add', `${c.ip4}/24`, 'dev', cv);
  await l.sh(l.server.ns, 'ip', 'link', 'set', sv, 'up');
  await l.sh(c.ns, 'ip', 'link', 'set', cv, 'up');
  await l.sh(c.ns, 'ip', 'route', 'add', `10.${net}.0.0/24`, 'via', `10.${net}.${n}.1`);
}

async function ifindex(l: Lab, n: number): Promise<number> {
  return (JSON.parse(await l.sh(l.server.ns, 'ip', '-j', 'link', 'show', serverLink(l, n))) as Array<{ ifindex: number }>)[0]?.ifindex as number;
}

const grants = (d: RunningDaemon, src: string): number => d.count('grant', (x) => x.src === src);

const knockConfig = (dir: string, interfaces: string): string => sshDoorConfig(dir, { doorLines: `    interfaces: [${interfaces}]\n` });

test('a knock door with interfaces fires for knocks on its interface only, with capture interfaces: [any]', { skip }, async (t: TestContext) => {
  const l = await upLab(t, 2);
  const [a, b] = l.clients as [Host, Host];
  const dir = scratch();
  await l.service(22);
  const d = await startDaemon(l, knockConfig(dir, serverLink(l, 1)));
  assert.deepEqual(d.lines.find((x) => x.event === 'start')?.interfaces, ['any']);
  await knock(l, b, '7000', '8000', '9000:udp');
  await knock(l, a, '7000', '8000', '9000:udp');
  await d.event('grant', (x) => x.src === a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the client on the door\'s interface got in');
  await sleep(300);
  assert.equal(grants(d, b.ip4), 0, 'a knock on another interface opens nothing');
  assert.equal(await l.connects(b, l.server.ip4, 22), false);
});

test('an SPA door honours interfaces: the same valid datagram is refused on another interface', { skip }, async (t: TestContext) => {
  const l = await upLab(t, 2);
  const [a, b] = l.clients as [Host, Host];
  const dir = scratch();
  const key = join(dir, 'alice.key');
  const door = (clients: string): string => writeConfig(dir, `table: kt
state_dir: ${dir}/state
doors:
  ssh-spa:
    spa: { port: 62201, clients: ${clients} }
    open: ["22/tcp"]
    timeout: 30
    interfaces: [${serverLink(l, 1)}]
`);
  // SPA v2: the client key is made for this server's identity and door (keygen reads the config).
  const kg = await l.exec(l.server.ns, process.execPath, KNOCKCTL, 'keygen', '-c', door('{}'), '--door', 'ssh-spa', '-n', 'alice', '-o', key, '--host', l.server.ip4);
  assert.equal(kg.code, 0, kg.stderr);
  const entry = (/\{ key: "[^"]+" \}/.exec(kg.stdout) as RegExpExecArray)[0];
  const cfg = door(`{ alice: ${entry} }`);
  await l.service(22);
  const d = await startDaemon(l, cfg);
  const spa = (from: Host) => l.exec(from.ns, process.execPath, KNOCKCTL, 'spa', l.server.ip4, '-k', key, '-o', '22/tcp');
  assert.equal((await spa(b)).code, 0);
  const r = await d.event('spa-reject', (x) => x.src === b.ip4);
  assert.deepEqual([r.reason, r.detail], ['wrong-interface', serverLink(l, 2)]);
  assert.equal((await spa(a)).code, 0);
  await d.event('grant', (x) => x.src === a.ip4);
  assert.equal(await l.connects(a, l.server.ip4, 22), true);
  assert.equal(await l.connects(b, l.server.ip4, 22), false, 'the datagram on the wrong interface opened nothing');
});

test('a door interface that appears after start, then is deleted and created again (new ifindex), keeps matching without a restart', { skip }, async (t: TestContext) => {
  const l = await upLab(t, 1);
  const [a] = l.clients as [Host];
  const dir = scratch();
  // Client 1's link does not exist when the daemon starts.
  await l.sh(l.server.ns, 'ip', 'link', 'del', serverLink(l, 1));
  const d = await startDaemon(l, knockConfig(dir, serverLink(l, 1)));
  await link(l, 1);
  const first = await ifindex(l, 1);
  await knock(l, a, '7000', '8000', '9000:udp');
  await d.event('grant', (x) => x.src === a.ip4);
  await l.sh(l.server.ns, 'ip', 'link', 'del', serverLink(l, 1));
  await link(l, 1);
  assert.notEqual(await ifindex(l, 1), first, 'the recreated link has a new ifindex');
  await knock(l, a, '7000', '8000', '9000:udp');
  await d.waitFor(() => grants(d, a.ip4) >= 2, 5000, 'a second grant after the link was recreated');
  assert.equal(d.count('knock-reset'), 0);
});
