/**
 * The knocking client, as knockd's `knock` does it: one TCP SYN (a non-blocking connect that is
 * abandoned) or one UDP datagram per knock. Needs no privileges.
 */
import { lookup } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { Family, PortSpec } from '../core';

export interface KnockSendOptions {
  /** Pause between two knocks, in milliseconds (knock's `-d`). */
  readonly delayMs: number;
  /** Resolve the host to this family only (knock's `-4`/`-6`). */
  readonly family?: Family;
  /** Receives one line per knock, like `knock -v` prints. */
  readonly verbose?: (line: string) => void;
}

/** Event-loop turns to wait for Node to start the connect: it does so one tick after `connect()`. */
const MAX_TURNS = 64;
/** Errors that prove the SYN left: the peer (or something on the path) answered it. */
const ANSWERED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH']);

async function tcpKnock(address: string, family: Family, port: number): Promise<void> {
  const sock = new Socket();
  let failure: NodeJS.ErrnoException | undefined;
  let attempted = false;
  sock.on('error', (e: NodeJS.ErrnoException) => {
    failure = e;
  });
  // Node emits 'connectionAttempt' right before it calls connect(2) in the same synchronous run.
  sock.once('connectionAttempt', () => {
    attempted = true;
  });
  sock.connect({ host: address, port, family });
  for (let i = 0; i < MAX_TURNS && !attempted && !failure; i++) await nextTurn();
  // connect(2) on a non-blocking socket transmits the SYN before it returns EINPROGRESS; one more
  // turn lets a synchronous failure (no route, EPERM from a local rule) surface as 'error'.
  // Closing a socket in SYN-SENT sends nothing (no RST): the knock is exactly one SYN.
  if (attempted) await nextTurn();
  sock.destroy();
  if (failure && !ANSWERED.has(failure.code ?? '')) throw failure;
  if (!attempted && !failure) throw new Error(`tcp knock to ${address}:${port} was not sent (connect did not start)`);
}

async function udpKnock(address: string, family: Family, port: number): Promise<void> {
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    // One byte, as knock sends: some middleboxes drop empty datagrams.
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.send(Buffer.alloc(1), port, address, (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    sock.close();
  }
}

/**
 * Send one knock per step to `host`, in order, `delayMs` apart. The host is resolved once. Rejects
 * when the host does not resolve or a knock cannot be sent (no route, refused locally); a TCP port
 * that answers with RST is a normal knock.
 */
export async function sendKnocks(host: string, steps: readonly PortSpec[], opts: KnockSendOptions): Promise<void> {
  const { address, family } = await lookup(host, { family: opts.family ?? 0, verbatim: true });
  const fam: Family = family === 6 ? 6 : 4;
  // dns.lookup returns an address literal as is, whatever family was asked for.
  if (opts.family !== undefined && fam !== opts.family) throw new Error(`${host} is not an IPv${opts.family} address`);
  const shown = fam === 6 ? `[${address}]` : address;
  for (let i = 0; i < steps.length; i++) {
    const { port, proto } = steps[i] as PortSpec;
    if (i > 0 && opts.delayMs > 0) await sleep(opts.delayMs);
    opts.verbose?.(`hitting ${proto} ${shown}:${port}`);
    if (proto === 'tcp') await tcpKnock(address, fam, port);
    else await udpKnock(address, fam, port);
  }
}
