import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Daemon } from '../../../src/daemon';
import { loadConfigText } from '../../../src/config';
import { createLogger } from '../../../src/log';
import { createHash } from 'node:crypto';
import { buildSpaPacket, generateIdentity, type SpaPacketInput } from '../../../src/spa';
import { FakeCapture, FakeClock, MemoryStore, RecordingHooks, RecordingNft, ipv4Packet } from './fakes';

const KEY = createHash('sha256').update('daemon test key').digest();
const IDENTITY = generateIdentity(() => new Uint8Array(32).fill(0x51));
const spaPacket = (over: Partial<SpaPacketInput> & { nowMs: number }): Uint8Array =>
  buildSpaPacket({ key: { type: 'aead', key: KEY }, server: IDENTITY.pub, door: 'spa', ...over });
const CFG = `table: kt
doors:
  ssh:
    sequence: ["7000", "8000:udp"]
    open: ["22/tcp"]
    timeout: 30
    start_command: ["/bin/echo", "%IP%", "%PORT%"]
  spa:
    spa: { clients: { alice: { key: "base64:${KEY.toString('base64')}" } } }
    open: ["443/tcp"]
`;
const HOST = '192.0.2.1';

function setup(text = CFG) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  const capture = new FakeCapture();
  const nft = new RecordingNft();
  const clock = new FakeClock();
  const store = new MemoryStore();
  const hooks = new RecordingHooks();
  const identity = { loads: 0 };
  const files = {
    readFile: async (p: string) => {
      if (p.startsWith('/nonexistent/')) throw new Error(`cannot read ${p}: ENOENT`);
      return new Uint8Array();
    },
    spaIdentity: () => (identity.loads++, IDENTITY),
  };
  const timers: number[] = [];
  // Retry pauses run at once, and are recorded, so the backoff is checked without sleeping.
  const setTimer = (fn: () => void, ms: number) => (timers.push(ms), setImmediate(fn));
  const d = new Daemon({ capture, nft, clock, log: createLogger({ level: 'debug', destination: sink }), isLocal: (a) => a === HOST, store, hooks, files, setTimer });
  return { d, capture, nft, clock, store, hooks, lines, timers, identity, cfg: loadConfigText(text).config };
}

const knock = (s: ReturnType<typeof setup>, src: string) => {
  s.capture.deliver(ipv4Packet(src, HOST, 'tcp', 7000));
  s.capture.deliver(ipv4Packet(src, HOST, 'udp', 8000));
};

test('knocks from many sources in one tick become one nft batch; hooks get %IP% and %PORT%', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  assert.match(s.capture.filter, /tcp dst port 7000/);
  for (let i = 1; i <= 20; i++) knock(s, `198.51.100.${i}`);
  await s.d.flush();
  assert.equal(s.nft.applied.length, 1, 'one nft call for twenty grants');
  assert.equal(s.nft.applied[0]!.nftables.length, 60, 'add, delete, add per element');
  assert.equal(s.d.stats.grants, 20);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(s.hooks.runs[0], { argv: ['/bin/echo', '%IP%', '%PORT%'], vars: { IP: '198.51.100.1', PORT: '22', PROTO: 'tcp' } });
  await s.d.stop();
});

test('knocks to another host\'s address and malformed frames are ignored and counted, never thrown', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  s.capture.deliver(ipv4Packet('198.51.100.7', '203.0.113.9', 'tcp', 7000));
  s.capture.deliver(ipv4Packet('198.51.100.7', '203.0.113.9', 'udp', 8000));
  s.capture.deliver(new Uint8Array([0x45, 0, 0]));
  s.capture.deliver(new Uint8Array(0));
  await s.d.flush();
  assert.equal(s.nft.applied.length, 0);
  assert.equal(s.d.stats.packets, 4);
  assert.equal(Object.values(s.d.stats.decodeErrors).reduce((a, b) => a + b, 0), 2);
  assert.equal(s.d.stats.internalErrors, 0);
  await s.d.stop();
});

test('a failing nft call is retried with backoff, then logged with nft\'s own message', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  s.nft.failNext = 1;
  knock(s, '198.51.100.1');
  await s.d.flush();
  assert.equal(s.nft.applied.length, 1, 'the retry succeeded');
  assert.equal(s.d.stats.nftFailures, 1);
  s.nft.failNext = 99;
  s.timers.length = 0;
  knock(s, '198.51.100.2');
  await s.d.flush();
  assert.deepEqual(s.timers, [250, 500, 1000, 2000], 'four pauses, growing');
  const failed = s.lines.find((l) => l.event === 'grant-failed');
  assert.ok(failed, 'grant-failed logged');
  assert.match(String(failed.reason), /Device or resource busy/);
  assert.equal(s.d.stats.grants, 1);
  s.nft.failNext = 0;
  knock(s, '198.51.100.3');
  await s.d.flush();
  assert.equal(s.d.stats.grants, 2, 'and the next grant goes through');
  await s.d.stop();
});

test('a flush after everything was applied returns (no spin on a settled drain)', { timeout: 5000 }, async () => {
  const s = setup();
  await s.d.start(s.cfg);
  knock(s, '198.51.100.4');
  await s.d.flush();
  await new Promise((r) => setImmediate(r));
  await s.d.flush();
  await s.d.stop();
  assert.equal(s.d.stats.grants, 1);
});

test('SPA: a valid datagram grants; when the nonce cannot be persisted, nothing is granted (fail closed)', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  const pkt = spaPacket({ nowMs: s.clock.now() });
  s.capture.deliver(ipv4Packet('198.51.100.5', HOST, 'udp', 62201, pkt), s.clock.now());
  await new Promise((r) => setTimeout(r, 5));
  await s.d.flush();
  assert.equal(s.d.stats.spaAccepted, 1);
  assert.match(JSON.stringify(s.nft.applied), /"198\.51\.100\.5","tcp",443/);
  s.capture.deliver(ipv4Packet('198.51.100.6', HOST, 'udp', 62201, pkt), s.clock.now());
  assert.equal(s.d.stats.spaRejected.replayed, 1);
  s.store.failAppend = true;
  const pkt2 = spaPacket({ nowMs: s.clock.now() });
  s.capture.deliver(ipv4Packet('198.51.100.7', HOST, 'udp', 62201, pkt2), s.clock.now());
  await new Promise((r) => setTimeout(r, 5));
  await s.d.flush();
  assert.equal(s.nft.applied.length, 1, 'no grant without a durable nonce');
  assert.equal(s.d.stats.spaRejected['replay-state-unwritable'], 1);
  await s.d.stop();
});

test('SPA: an authentic packet denied for its access spends its nonce durably; the same packet again is a replay', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  const size = (): number => [...s.store.files.values()].reduce((n, f) => n + f.length, 0);
  const before = size();
  const pkt = spaPacket({ nowMs: s.clock.now(), access: ['22/tcp'] });
  s.capture.deliver(ipv4Packet('198.51.100.8', HOST, 'udp', 62201, pkt), s.clock.now());
  await new Promise((r) => setTimeout(r, 5));
  await s.d.flush();
  assert.equal(s.d.stats.spaRejected['access-denied'], 1);
  assert.equal(size() - before, 41, 'the nonce record was appended');
  s.clock.wall += 1000; // a replay a second later, not a second capture of the same packet
  s.capture.deliver(ipv4Packet('198.51.100.8', HOST, 'udp', 62201, pkt), s.clock.now());
  assert.equal(s.d.stats.spaRejected.replayed, 1);
  assert.equal(s.nft.applied.length, 0, 'nothing granted');
  await s.d.stop();
});

test('SPA identity: a knock-only config never loads it; the reload that adds the first SPA door does, and that door grants', async () => {
  const s = setup(CFG.slice(0, CFG.indexOf('  spa:')));
  await s.d.start(s.cfg);
  assert.equal(s.d.runtime.spaByPort.size, 0);
  assert.equal(s.identity.loads, 0, 'no SPA door: no identity loaded or created');
  assert.equal(await s.d.reload(loadConfigText(CFG).config), true);
  assert.equal(s.identity.loads, 1);
  s.capture.deliver(ipv4Packet('198.51.100.5', HOST, 'udp', 62201, spaPacket({ nowMs: s.clock.now() })), s.clock.now());
  await new Promise((r) => setTimeout(r, 5));
  await s.d.flush();
  assert.equal(s.d.stats.spaAccepted, 1);
  assert.match(JSON.stringify(s.nft.applied), /"198\.51\.100\.5","tcp",443/);
  await s.d.stop();
});

test('SPA captured twice (a bridge and its port): one grant, no replay logged, one duplicate counted', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  const pkt = ipv4Packet('198.51.100.9', HOST, 'udp', 62201, spaPacket({ nowMs: s.clock.now() }));
  s.capture.deliver(pkt, s.clock.now());
  s.capture.deliver(Uint8Array.from(pkt), s.clock.now());
  await new Promise((r) => setTimeout(r, 5));
  await s.d.flush();
  assert.equal(s.d.stats.spaAccepted, 1);
  assert.equal(s.d.stats.duplicates, 1);
  assert.deepEqual(s.d.stats.spaRejected, {});
  await s.d.stop();
});

test('reload: a config whose files cannot be read is refused and the old one keeps running', async () => {
  const s = setup();
  await s.d.start(s.cfg);
  const bad = loadConfigText(`table: kt\ndoors:\n  r:\n    sequence: { rotate: { secret_file: /nonexistent/secret } }\n    open: ["22/tcp"]\n`).config;
  assert.equal(await s.d.reload(bad), false);
  assert.ok(s.lines.some((l) => l.event === 'reload-failed' && JSON.stringify(l.issues).includes('/nonexistent/secret')));
  knock(s, '198.51.100.9');
  await s.d.flush();
  assert.equal(s.d.stats.grants, 1, 'the old doors still work');
  await s.d.stop();
});

test('log_level debug: each knock that does nothing is logged with its reason (knock-ignored), rate-limited; not at info', async () => {
  for (const level of ['debug', 'info']) {
    const s = setup(`log_level: ${level}\n${CFG}`);
    await s.d.start(s.cfg);
    s.capture.deliver(ipv4Packet('198.51.100.7', HOST, 'udp', 8000)); // not the first knock
    s.capture.deliver(ipv4Packet('198.51.100.7', '203.0.113.9', 'tcp', 7000)); // another host's address
    for (let i = 0; i < 500; i++) s.capture.deliver(ipv4Packet('198.51.100.8', HOST, 'udp', 8000));
    await s.d.flush();
    const ignored = s.lines.filter((l) => l.event === 'knock-ignored');
    if (level === 'info') assert.equal(ignored.length, 0);
    else {
      assert.deepEqual(ignored.slice(0, 2).map((l) => [l.door, l.src, l.reason, l.level]), [['ssh', '198.51.100.7', 'not-first', 'debug'], ['ssh', '198.51.100.7', 'target', 'debug']]);
      assert.ok(ignored.length < 100, `rate-limited (${ignored.length} of 502)`);
    }
    await s.d.stop();
  }
});
