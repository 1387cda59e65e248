/**
 * The daemon with a `spa.format: fwknop` door (fake capture, nft, clock and store): the digest is
 * written before the grant, survives a restart, and nothing is granted when it cannot be written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Daemon } from '../../../src/daemon';
import { loadConfigText } from '../../../src/config';
import { createLogger } from '../../../src/log';
import { buildFwknopDatagram } from '../../../src/spa/fwknop';
import { FakeCapture, FakeClock, MemoryStore, RecordingHooks, RecordingNft, ipv4Packet } from './fakes';

const KEY = Buffer.alloc(32, 11);
const HMAC = Buffer.alloc(64, 12);
const HOST = '192.0.2.1';
const CFG = loadConfigText(`table: kt
doors:
  fw:
    spa:
      format: fwknop
      clients: { laptop: { key: "base64:${KEY.toString('base64')}", hmac_key: "base64:${HMAC.toString('base64')}", require_address: true } }
    open: ["22/tcp"]
`).config;

function daemon(store: MemoryStore, clock: FakeClock) {
  const capture = new FakeCapture();
  const nft = new RecordingNft();
  const sink = new Writable({ write(_c: Buffer, _e, cb) { cb(); } });
  const d = new Daemon({
    capture, nft, clock, log: createLogger({ level: 'info', destination: sink }), isLocal: (a) => a === HOST, store, hooks: new RecordingHooks(),
    files: { readFile: async () => new Uint8Array() }, setTimer: (fn) => setImmediate(fn),
  });
  return { d, capture, nft };
}

let salt = 0;
const datagram = (clock: FakeClock, addr: string): Uint8Array =>
  Buffer.from(buildFwknopDatagram({ key: KEY, hmacKey: HMAC, rand: '1234567890123456', salt: Buffer.alloc(8, ++salt), username: 'u', timestamp: Math.floor(clock.now() / 1000), message: `${addr},tcp/22` }), 'latin1');

async function settle(d: Daemon): Promise<void> {
  await new Promise((r) => setTimeout(r, 5));
  await d.flush();
}

test('a fwknop datagram grants after its digest is stored; after a restart the same datagram is a replay; no durable digest, no grant', async () => {
  const store = new MemoryStore();
  const clock = new FakeClock();
  let s = daemon(store, clock);
  await s.d.start(CFG);
  assert.match(s.capture.filter, /udp dst port 62201/);
  const pkt = datagram(clock, '198.51.100.5');
  s.capture.deliver(ipv4Packet('198.51.100.5', HOST, 'udp', 62201, pkt), clock.now());
  await settle(s.d);
  assert.equal(s.d.stats.spaAccepted, 1);
  assert.match(JSON.stringify(s.nft.applied), /"198\.51\.100\.5","tcp",22/);
  assert.equal([...store.files.values()].reduce((n, f) => n + f.length, 0), 41, 'one replay record');
  await s.d.stop();

  s = daemon(store, clock);
  await s.d.start(CFG);
  clock.wall += 2000;
  s.capture.deliver(ipv4Packet('198.51.100.99', HOST, 'udp', 62201, pkt), clock.now());
  await settle(s.d);
  assert.equal(s.d.stats.spaRejected.replayed, 1, 'from another address, after a restart');
  store.failAppend = true;
  s.capture.deliver(ipv4Packet('198.51.100.6', HOST, 'udp', 62201, datagram(clock, '198.51.100.6')), clock.now());
  await settle(s.d);
  assert.equal(s.d.stats.spaRejected['replay-state-unwritable'], 1);
  assert.equal(s.nft.applied.length, 0, 'nothing granted in the second run');
  await s.d.stop();
});
