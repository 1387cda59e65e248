/**
 * Which bridge ports and bond slaves the capture drops in the kernel (daemon/capture-skip.ts), the
 * daemon handing that list to the capture at start and reload, and the sysfs reader on a fake tree.
 * The real thing (a bridge in a namespace): test/integration/capture-skip.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { skippableInterfaces } from '../../../src/daemon/capture-skip';
import { Daemon } from '../../../src/daemon';
import { loadConfigText } from '../../../src/config';
import { createLogger } from '../../../src/log';
import { enslavedInterfaces, type Enslaved, type EnslavedInterface } from '../../../src/io/enslaved';
import { FakeCapture, FakeClock, MemoryStore, RecordingHooks, RecordingNft } from './fakes';

const port = (name: string, ifindex: number, kind: 'bridge' | 'bond' = 'bridge'): EnslavedInterface => ({ name, ifindex, master: kind === 'bridge' ? 'br0' : 'bond0', kind });
const cfgOf = (text: string) => loadConfigText(text).config;
const KNOCK = 'doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n';
const names = (xs: readonly EnslavedInterface[]): string[] => xs.map((x) => x.name);

test('bridge ports and bond slaves are skipped, unless the config names them', () => {
  const now: Enslaved = { interfaces: [port('eth1', 3), port('eth2', 4), port('eth3', 5, 'bond')], bridgeNetfilter: false };
  assert.deepEqual(names(skippableInterfaces(now, cfgOf(KNOCK))), ['eth1', 'eth2', 'eth3']);
  assert.deepEqual(names(skippableInterfaces(now, cfgOf(`interfaces: [eth2, br0]\n${KNOCK}`))), ['eth1', 'eth3'], 'capture interfaces');
  assert.deepEqual(names(skippableInterfaces(now, cfgOf('doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"], interfaces: [eth1] }\n'))), ['eth2', 'eth3'], 'a door tied to a port');
});

test('with br_netfilter and a router door, bridge ports are kept (bridged-through knocks are seen there only); bond slaves are still skipped', () => {
  const now: Enslaved = { interfaces: [port('eth1', 3), port('eth3', 5, 'bond')], bridgeNetfilter: true };
  assert.deepEqual(names(skippableInterfaces(now, cfgOf(KNOCK))), ['eth1', 'eth3'], 'no door with target: ports only duplicate what the bridge delivers');
  const router = cfgOf('doors:\n  lan: { sequence: ["7000", "8000"], open: ["22/tcp"], target: ["192.168.1.0/24"] }\n');
  assert.deepEqual(names(skippableInterfaces(now, router)), ['eth3']);
  assert.deepEqual(names(skippableInterfaces({ ...now, bridgeNetfilter: false }, router)), ['eth1', 'eth3'], 'without br_netfilter routed knocks come up through the bridge');
});

class SkippingCapture extends FakeCapture {
  readonly skips: number[][] = [];
  async skipInterfaces(ifindexes: readonly number[]): Promise<void> {
    this.skips.push([...ifindexes]);
  }
}

test('the daemon hands the skippable interfaces to the capture at start and again when a reload changes them; the log names them', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
  const capture = new SkippingCapture();
  let enslaved: Enslaved = { interfaces: [port('eth1', 3), port('eth2', 4)], bridgeNetfilter: false };
  const d = new Daemon({
    capture, nft: new RecordingNft(), clock: new FakeClock(), log: createLogger({ level: 'info', destination: sink }), isLocal: () => true,
    store: new MemoryStore(), hooks: new RecordingHooks(), files: { readFile: async () => new Uint8Array() }, enslaved: () => enslaved,
  });
  await d.start(cfgOf(KNOCK));
  assert.deepEqual(capture.skips, [[3, 4]]);
  const logged = lines.find((l) => l.event === 'capture-skip');
  assert.deepEqual(logged?.interfaces, ['eth1', 'eth2']);
  assert.match(String(logged?.msg), /eth1 \(in br0\), eth2 \(in br0\) dropped in the kernel/);
  assert.equal(await d.reload(cfgOf(KNOCK)), true);
  assert.deepEqual(capture.skips, [[3, 4]], 'unchanged: not handed over again');
  assert.equal(await d.reload(cfgOf('doors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"], interfaces: [eth2] }\n')), true);
  assert.deepEqual(capture.skips.at(-1), [3], 'a door now tied to eth2 keeps its frames');
  enslaved = { interfaces: [], bridgeNetfilter: false };
  assert.equal(await d.reload(cfgOf(KNOCK)), true);
  assert.deepEqual(capture.skips.at(-1), [], 'the port left the bridge: nothing skipped');
  await d.stop();
});

test('the sysfs reader: ports of a bridge and slaves of a bond, with their index; other masters and free interfaces are not listed', () => {
  const root = mkdtempSync(join(tmpdir(), 'knockctl-sysfs-'));
  const sys = join(root, 'class-net');
  const proc = join(root, 'proc-sys');
  const dev = (name: string, ifindex: number, master?: string, kindDir?: string): void => {
    mkdirSync(join(sys, name), { recursive: true });
    writeFileSync(join(sys, name, 'ifindex'), `${ifindex}\n`);
    if (master) symlinkSync(`../${master}`, join(sys, name, 'master'));
    if (kindDir) mkdirSync(join(sys, name, kindDir));
  };
  dev('br0', 2, undefined, 'bridge');
  dev('bond0', 3, undefined, 'bonding');
  dev('vrf0', 4);
  dev('eth2', 7, 'bond0');
  dev('eth1', 6, 'br0');
  dev('eth3', 8, 'vrf0');
  dev('eth4', 9);
  assert.deepEqual(enslavedInterfaces(sys, proc), {
    interfaces: [{ name: 'eth1', ifindex: 6, master: 'br0', kind: 'bridge' }, { name: 'eth2', ifindex: 7, master: 'bond0', kind: 'bond' }],
    bridgeNetfilter: false,
  });
  mkdirSync(join(proc, 'net/bridge'), { recursive: true });
  writeFileSync(join(proc, 'net/bridge/bridge-nf-call-iptables'), '1\n');
  assert.equal(enslavedInterfaces(sys, proc).bridgeNetfilter, true);
  assert.deepEqual(enslavedInterfaces(join(root, 'no-such-dir'), proc).interfaces, []);
});
