/**
 * Root only: the real libpcap capture in a namespace pair joined by a veth. The capture runs in a
 * child (test/integration/pcap-capture-child.ts) started with `ip netns exec` in the server namespace.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { buildCaptureFilter, MATCH_NOTHING } from '../../src/packet';

const CHILD = join(__dirname, 'pcap-capture-child.js');
const isRoot = process.getuid?.() === 0;
const hasIp = (() => {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = !isRoot ? 'needs root (network namespaces, libpcap)' : !hasIp ? 'needs the ip command (iproute2)' : false;

const tag = `pkc${process.pid % 1_000_000}`;
const CLIENT = `${tag}-c`;
const SERVER = `${tag}-s`;
const VETH_C = `${tag}c`;
const VETH_S = `${tag}s`;
const C4 = '10.231.7.1';
const S4 = '10.231.7.2';
const C6 = 'fd00:231:7::1';
const S6 = 'fd00:231:7::2';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

// Cleanup first: whatever part of the setup happened is undone, even if setup itself fails.
after(() => {
  for (const ns of [CLIENT, SERVER]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* not created */
    }
  }
});

let ready = false;
function setup(): void {
  if (ready) return;
  ip('netns', 'add', CLIENT);
  ip('netns', 'add', SERVER);
  ip('link', 'add', VETH_C, 'netns', CLIENT, 'type', 'veth', 'peer', 'name', VETH_S, 'netns', SERVER);
  for (const [ns, dev, a4, a6] of [[CLIENT, VETH_C, C4, C6], [SERVER, VETH_S, S4, S6]] as const) {
    ip('-n', ns, 'addr', 'add', `${a4}/24`, 'dev', dev);
    ip('-n', ns, 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad');
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  // Static neighbours: the first IPv6 datagram must not wait for neighbour discovery.
  const mac = (ns: string, dev: string): string => (JSON.parse(ip('-j', '-n', ns, 'link', 'show', dev)) as Array<{ address: string }>)[0]?.address as string;
  const [macC, macS] = [mac(CLIENT, VETH_C), mac(SERVER, VETH_S)];
  for (const [ns, dev, peer, lladdr] of [[CLIENT, VETH_C, S4, macS], [CLIENT, VETH_C, S6, macS], [SERVER, VETH_S, C4, macC], [SERVER, VETH_S, C6, macC]] as const) {
    ip('-n', ns, 'neigh', 'replace', peer, 'lladdr', lladdr, 'dev', dev, 'nud', 'permanent');
  }
  ready = true;
}

interface Msg {
  type: string;
  [k: string]: unknown;
}

/** A running helper: its JSON lines, and a way to wait for one. */
class Child {
  readonly lines: Msg[] = [];
  private waiters: Array<() => void> = [];
  readonly proc: ChildProcess;
  constructor(ns: string, mode: string, arg: unknown) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, CHILD, mode, JSON.stringify(arg)], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.proc.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      this.lines.push(JSON.parse(l) as Msg);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async waitFor(pred: (m: Msg[]) => boolean, ms = 3000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pred(this.lines)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => (clearTimeout(t), res()));
      });
    }
    return true;
  }
  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }
  async stop(): Promise<number | null> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    const exited = new Promise<number | null>((res) => this.proc.once('exit', (code) => res(code)));
    this.send('stop');
    this.proc.stdin?.end();
    return exited;
  }
}

const children: Child[] = [];
after(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
});

async function startCapture(interfaces: string[], filter: string, snapLen?: number): Promise<Child> {
  const c = new Child(SERVER, 'capture', { interfaces, filter, snapLen });
  children.push(c);
  assert.ok(await c.waitFor((m) => m.some((x) => x.type === 'ready' || x.type === 'error')), 'capture did not start');
  const err = c.lines.find((x) => x.type === 'error');
  assert.equal(err, undefined, `capture failed: ${JSON.stringify(err)}`);
  return c;
}

async function sendFromClient(what: { tcp?: Array<[string, number]>; udp?: Array<[string, number, string]> }): Promise<number> {
  const c = new Child(CLIENT, 'send', what);
  assert.ok(await c.waitFor((m) => m.some((x) => x.type === 'sent')), 'client did not send');
  return (c.lines.find((x) => x.type === 'sent') as Msg).at as number;
}

const events = (c: Child): Msg[] => c.lines.filter((m) => m.type === 'event');
const KNOCKS = { tcp: [[S4, 7000], [S4, 7001]] as Array<[string, number]>, udp: [[S4, 9000, 'knock-v4'], [S6, 9000, 'knock-v6'], [S4, 9001, 'not-filtered']] as Array<[string, number, string]> };
const FILTER = buildCaptureFilter({ ports: [{ port: 7000, proto: 'tcp' }, { port: 9000, proto: 'udp' }], ranges: [] });

/** The three packets to filtered ports arrive, decoded; nothing else does. */
async function assertKnocksSeen(cap: Child, ifname: string): Promise<void> {
  const sentAt = await sendFromClient(KNOCKS);
  assert.ok(await cap.waitFor((m) => m.filter((x) => x.type === 'event').length >= 3), `events: ${JSON.stringify(cap.lines)}`);
  // Give a stray packet to a non-filtered port time to show up, were it to pass the filter.
  await new Promise((res) => setTimeout(res, 300));
  const got = events(cap).map((e) => [e.family, e.src, e.dst, e.proto, e.dport, e.tcpFlags, e.payload, e.ifname]);
  assert.deepEqual(got, [
    [4, C4, S4, 'tcp', 7000, 0x02, '', ifname],
    [4, C4, S4, 'udp', 9000, 0, 'knock-v4', ifname],
    [6, C6, S6, 'udp', 9000, 0, 'knock-v6', ifname],
  ]);
  assert.equal(cap.lines.filter((m) => m.type === 'reject').length, 0);
  for (const e of events(cap)) assert.ok((e.recvAt as number) - sentAt < 100, `delivery took over 100 ms (immediate mode off?): sent ${sentAt} ${JSON.stringify(cap.lines)}`);
}

test('capture on "any": knocks to filtered ports arrive decoded with their real interface, other ports and our own packets do not', { skip }, async () => {
  setup();
  const cap = await startCapture(['any'], FILTER);
  assert.match(ip('-n', SERVER, '-d', 'link', 'show', VETH_S), /promiscuity 0 /);
  await assertKnocksSeen(cap, VETH_S);
  assert.deepEqual(new Set(events(cap).map((e) => e.linkType)), new Set([276]), 'cooked v2 (SLL2) frames');
  // An outgoing datagram to a filtered port (server → client) must not be seen: `inbound`.
  const out = new Child(SERVER, 'send', { udp: [[C4, 9000, 'outgoing']] });
  children.push(out);
  assert.ok(await out.waitFor((m) => m.some((x) => x.type === 'sent')));
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(events(cap).length, 3, 'our own outgoing packet was captured');
  assert.equal(await cap.stop(), 0);
  assert.ok(cap.lines.some((m) => m.type === 'closed'));
});

test('capture on a named veth: ifname is reported and the device never goes promiscuous', { skip }, async () => {
  setup();
  const cap = await startCapture([VETH_S], FILTER);
  assert.match(ip('-n', SERVER, '-d', 'link', 'show', VETH_S), /promiscuity 0 /);
  await assertKnocksSeen(cap, VETH_S);
  assert.equal(await cap.stop(), 0);
});

test('capture on lo sees nothing of the veth traffic (frames are filtered by their interface)', { skip }, async () => {
  setup();
  const cap = await startCapture(['lo'], FILTER);
  await sendFromClient(KNOCKS);
  await new Promise((res) => setTimeout(res, 400));
  assert.deepEqual(events(cap), []);
  assert.equal(await cap.stop(), 0);
});

test('the empty filter matches nothing; setFilter swaps it on the open capture', { skip }, async () => {
  setup();
  const cap = await startCapture([VETH_S], MATCH_NOTHING);
  await sendFromClient(KNOCKS);
  await new Promise((res) => setTimeout(res, 400));
  assert.deepEqual(events(cap), []);
  cap.send(`filter ${buildCaptureFilter({ ports: [{ port: 9001, proto: 'udp' }], ranges: [] })}`);
  assert.ok(await cap.waitFor((m) => m.some((x) => x.type === 'filtered' || x.type === 'error')));
  await sendFromClient(KNOCKS);
  assert.ok(await cap.waitFor((m) => m.some((x) => x.type === 'event')));
  await new Promise((res) => setTimeout(res, 300));
  assert.deepEqual(events(cap).map((e) => [e.dport, e.payload]), [[9001, 'not-filtered']]);
  assert.equal(await cap.stop(), 0);
});

test('a filter libpcap refuses becomes CaptureError with libpcap\'s reason', { skip }, async () => {
  setup();
  const c = new Child(SERVER, 'capture', { interfaces: ['any'], filter: 'tcp dst port 70000' });
  children.push(c);
  assert.ok(await c.waitFor((m) => m.some((x) => x.type === 'error' || x.type === 'ready')));
  const err = c.lines.find((x) => x.type === 'error');
  assert.equal(err?.name, 'CaptureError');
  assert.equal(err?.code, 'ERR_CAPTURE');
  assert.match(String(err?.message), /port 70000|illegal|out of range/i);
  await c.stop();
});

test('snap length: a frame is cut to the snap length the caller asks for', { skip }, async () => {
  setup();
  const cap = await startCapture(['any'], FILTER, 200);
  await sendFromClient({ udp: [[S4, 9000, 'x'.repeat(1000)], [S4, 9000, 'short']] });
  assert.ok(await cap.waitFor((m) => m.filter((x) => x.type === 'event').length >= 2), JSON.stringify(cap.lines));
  assert.deepEqual(events(cap).map((e) => e.caplen), [200, 20 + 20 + 8 + 5]);
  assert.equal(await cap.stop(), 0);
});

test('a capture interface that appears after start, and one deleted and created again (new ifindex), is captured without a restart', { skip }, async () => {
  setup();
  const [lateC, lateS] = [`${tag}lc`, `${tag}ls`];
  const cap = await startCapture([lateS], FILTER);
  const index = (): number => (JSON.parse(ip('-j', '-n', SERVER, 'link', 'show', lateS)) as Array<{ ifindex: number }>)[0]?.ifindex as number;
  const create = (): void => {
    ip('link', 'add', lateC, 'netns', CLIENT, 'type', 'veth', 'peer', 'name', lateS, 'netns', SERVER);
    ip('-n', CLIENT, 'addr', 'add', '10.231.8.1/24', 'dev', lateC);
    ip('-n', SERVER, 'addr', 'add', '10.231.8.2/24', 'dev', lateS);
    ip('-n', CLIENT, 'link', 'set', lateC, 'up');
    ip('-n', SERVER, 'link', 'set', lateS, 'up');
  };
  create();
  const first = index();
  // The main veth's traffic is not on the listed interface: not captured.
  await sendFromClient({ udp: [[S4, 9000, 'main-link'], [`10.231.8.2`, 9000, 'late-1']] });
  assert.ok(await cap.waitFor((m) => m.some((x) => x.type === 'event' && x.payload === 'late-1'), 5000), JSON.stringify(cap.lines));
  ip('-n', SERVER, 'link', 'del', lateS);
  create();
  assert.notEqual(index(), first, 'the recreated interface has a new index');
  await sendFromClient({ udp: [[`10.231.8.2`, 9000, 'late-2']] });
  assert.ok(await cap.waitFor((m) => m.some((x) => x.type === 'event' && x.payload === 'late-2'), 5000), JSON.stringify(cap.lines));
  assert.deepEqual(events(cap).map((e) => [e.payload, e.ifname]), [['late-1', lateS], ['late-2', lateS]]);
  assert.equal(await cap.stop(), 0);
});
