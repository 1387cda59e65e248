import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sendKnocks } from '../../../src/io/knock-sender';

test('udp knocks arrive on loopback in order, one byte each, delayMs apart', async () => {
  const rx = createSocket('udp4');
  const got: { port: number; len: number; at: number }[] = [];
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const port = (rx.address() as AddressInfo).port;
  rx.on('message', (m) => got.push({ port, len: m.length, at: Date.now() }));
  const lines: string[] = [];
  const t0 = Date.now();
  await sendKnocks('localhost', [{ port, proto: 'udp' }, { port, proto: 'udp' }, { port, proto: 'udp' }], { delayMs: 60, family: 4, verbose: (l) => lines.push(l) });
  for (let i = 0; i < 50 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  rx.close();
  assert.equal(got.length, 3);
  assert.ok(got.every((g) => g.len === 1));
  assert.ok(Date.now() - t0 >= 120, 'two delays of 60 ms');
  assert.deepEqual(lines, [`hitting udp 127.0.0.1:${port}`, `hitting udp 127.0.0.1:${port}`, `hitting udp 127.0.0.1:${port}`]);
});

test('a tcp knock reaches a listener as a connection attempt and never waits for it', async () => {
  let seen = 0;
  const srv = createServer((c) => {
    seen++;
    c.destroy();
  });
  srv.on('connection', () => undefined);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  // On loopback the handshake completes inside the kernel before the socket is closed, so the
  // server sees the connection: proof the SYN went out. (The root test shows SYN-only on a veth.)
  await sendKnocks('127.0.0.1', [{ port, proto: 'tcp' }], { delayMs: 0 });
  for (let i = 0; i < 50 && seen === 0; i++) await new Promise((r) => setTimeout(r, 10));
  srv.close();
  assert.equal(seen, 1);
});

test('a tcp knock to a closed port (answered by RST) is not an error', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  await sendKnocks('127.0.0.1', [{ port, proto: 'tcp' }, { port, proto: 'tcp' }], { delayMs: 0 });
});

test('an unresolvable host rejects before any knock', async () => {
  const lines: string[] = [];
  await assert.rejects(sendKnocks('no-such-host.invalid', [{ port: 1, proto: 'udp' }], { delayMs: 0, verbose: (l) => lines.push(l) }), /ENOTFOUND|EAI_AGAIN/);
  assert.deepEqual(lines, []);
});

test('-4 with an IPv6 literal fails to resolve instead of knocking over IPv6', async () => {
  await assert.rejects(sendKnocks('::1', [{ port: 1, proto: 'udp' }], { delayMs: 0, family: 4 }), /::1 is not an IPv4 address/);
});
