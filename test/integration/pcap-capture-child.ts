/**
 * Helper for pcap-capture.test.ts, run inside a network namespace with `ip netns exec` (node has
 * no setns). Two modes, one JSON argument each:
 *   capture {"interfaces": [...], "filter": "...", "snapLen"?: n}: prints one JSON line per decoded
 *     frame, "ready" once capturing; reads "filter <expr>" lines from stdin to swap the filter and
 *     "counters" to print the kernel's drop count; closes on "stop".
 *   send {"tcp": [[host, port], ...], "udp": [[host, port, text], ...]}: connects / sends, exits.
 */
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { PcapCapture } from '../../src/io/pcap-capture';
import { decodeFrame } from '../../src/packet';

const say = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

async function capture(args: { interfaces: string[]; filter: string; snapLen?: number }): Promise<void> {
  const cap = new PcapCapture({ interfaces: args.interfaces });
  try {
    await cap.start(args.filter, (frame) => {
      const o = decodeFrame(frame);
      if (!o.ok) return say({ type: 'reject', reason: o.reason, ifname: frame.ifname });
      const { payload, ...ev } = o.value;
      const text = Buffer.from(payload).toString('latin1');
      say({ type: 'event', ...ev, payload: text.length > 64 ? `${text.length} bytes` : text, linkType: frame.linkType, caplen: frame.data.length, recvAt: Date.now() });
    }, args.snapLen);
  } catch (err) {
    say({ type: 'error', name: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message });
    return;
  }
  say({ type: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') break;
    if (line === 'counters') say({ type: 'counters', ...cap.counters() });
    if (line.startsWith('filter ')) {
      try {
        await cap.setFilter(line.slice(7));
        say({ type: 'filtered' });
      } catch (err) {
        say({ type: 'error', name: (err as Error).name, message: (err as Error).message });
      }
    }
  }
  await cap.close();
  say({ type: 'closed' });
}

async function send(args: { tcp?: Array<[string, number]>; udp?: Array<[string, number, string]> }): Promise<void> {
  for (const [host, port] of args.tcp ?? []) {
    await new Promise<void>((done) => {
      const s = connect({ host, port });
      s.on('error', () => done());
      s.on('connect', () => (s.destroy(), done()));
    });
  }
  for (const [host, port, text] of args.udp ?? []) {
    const u = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((done) => u.send(Buffer.from(text), port, host, () => done()));
    u.close();
  }
  say({ type: 'sent', at: Date.now() });
}

const [mode, json] = process.argv.slice(2);
const run = mode === 'capture' ? capture : mode === 'send' ? send : undefined;
if (!run || !json) {
  process.stderr.write('usage: pcap-capture-child capture|send JSON\n');
  process.exit(2);
}
run(JSON.parse(json)).catch((err: unknown) => {
  say({ type: 'error', message: String(err) });
  process.exitCode = 1;
});
