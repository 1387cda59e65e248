/**
 * Works around a first-packet loss in libpcap 1.10 on Linux (pcap-linux.c, pcap_setfilter_linux):
 * after a filter is set, the first packet in the ring is filtered again in userland "in case we lost
 * a race", and libpcap's userland BPF cannot evaluate `ifindex` (a Linux SKF_AD load), so that
 * packet is dropped. Seen here: with `ifindex N and udp dst port 9000` the first of three datagrams
 * never arrives; without `ifindex` all three do.
 *
 * The primer is a datagram this process sends itself over `lo` right after opening, matched by an
 * extra filter clause, so the packet that is lost is ours. Best effort: with `lo` down there is no
 * primer and the first packet may still be lost. A libpcap without this behaviour would deliver the
 * primer (UDP 127.0.0.1:P → 127.0.0.1:P, "primer"), which no door counts: targets are checked in JS.
 */
import { createSocket, type Socket } from 'node:dgram';

/** `lo` is the first device registered in every network namespace, so its index is always 1. */
const LO_IFINDEX = 1;

export class PcapPrimer {
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  /** Binds a UDP socket on 127.0.0.1; undefined when that is impossible (no `lo`). */
  static async open(): Promise<PcapPrimer | undefined> {
    const socket = createSocket('udp4');
    try {
      await new Promise<void>((res, rej) => {
        socket.once('error', rej);
        socket.bind(0, '127.0.0.1', () => res());
      });
    } catch {
      socket.close();
      return undefined;
    }
    socket.on('message', () => undefined);
    socket.on('error', () => undefined);
    return new PcapPrimer(socket, socket.address().port);
  }

  /** The clause that admits the primer, and nothing a remote host could send (`ifindex 1` is lo). */
  clause(): string {
    return `(ifindex ${LO_IFINDEX} and inbound and udp dst port ${this.port} and dst host 127.0.0.1)`;
  }

  /** Sends the primer to ourselves and closes the socket. */
  async fire(): Promise<void> {
    await new Promise<void>((res) => this.socket.send(Buffer.from('primer'), this.port, '127.0.0.1', () => res()));
    this.socket.close();
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}
