import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { LocalAddresses } from '../../../src/io/local-addresses';

type Ifaces = NodeJS.Dict<NetworkInterfaceInfo[]>;
const info = (address: string): NetworkInterfaceInfo =>
  ({ address, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '00:00:00:00:00:00', internal: false, cidr: null }) as NetworkInterfaceInfo;

/** A stepped timer and a mutable interface table. */
function rig(initial: Ifaces) {
  let table = initial;
  let tick: (() => void) | undefined;
  let cancelled = false;
  const changes: Array<[readonly string[], readonly string[]]> = [];
  const la = new LocalAddresses({
    intervalMs: 2000,
    read: () => table,
    every: (ms, fn) => {
      assert.equal(ms, 2000);
      tick = fn;
      return { cancel: () => void (cancelled = true) };
    },
    onChange: (a, r) => void changes.push([a, r]),
  });
  return { la, changes, set: (t: Ifaces) => void (table = t), tick: () => tick?.(), cancelled: () => cancelled };
}

test('addresses are answered in canonical text, whatever form the OS used', () => {
  const { la } = rig({ lo: [info('127.0.0.1'), info('::1')], eth0: [info('192.0.2.5'), info('2001:DB8:0:0::5'), info('fe80::1%eth0')] });
  for (const a of ['127.0.0.1', '::1', '192.0.2.5', '2001:db8::5', 'fe80::1']) assert.equal(la.has(a), true, a);
  for (const a of ['2001:DB8::5', '192.0.2.6', '', 'fe80::1%eth0']) assert.equal(la.has(a), false, a);
  assert.deepEqual(la.list(), ['127.0.0.1', '192.0.2.5', '2001:db8::5', '::1', 'fe80::1']);
});

test('a tick picks up added and removed addresses and reports the change once', () => {
  const r = rig({ eth0: [info('192.0.2.5')] });
  r.set({ eth0: [info('192.0.2.9')], wg0: [info('fd00::1')] });
  assert.equal(r.la.has('192.0.2.9'), false, 'not before the tick');
  r.tick();
  assert.equal(r.la.has('192.0.2.9'), true);
  assert.equal(r.la.has('fd00::1'), true);
  assert.equal(r.la.has('192.0.2.5'), false);
  assert.deepEqual(r.changes, [[['192.0.2.9', 'fd00::1'], ['192.0.2.5']]]);
  r.tick();
  assert.equal(r.changes.length, 1, 'no change, no report');
});

test('a failing read keeps the last known set', () => {
  const r = rig({ eth0: [info('192.0.2.5')] });
  r.set(new Proxy({}, { ownKeys: () => { throw new Error('EMFILE'); } }) as Ifaces);
  r.tick();
  assert.equal(r.la.has('192.0.2.5'), true);
});

test('close cancels the timer and keeps answering', () => {
  const r = rig({ eth0: [info('192.0.2.5')] });
  r.la.close();
  assert.equal(r.cancelled(), true);
  assert.equal(r.la.has('192.0.2.5'), true);
});

test('the default source and timer work on this machine and do not hold the process open', () => {
  const la = new LocalAddresses();
  assert.equal(la.has('127.0.0.1') || la.list().length === 0, true);
  la.close();
});
