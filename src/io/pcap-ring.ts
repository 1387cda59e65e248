/**
 * How large libpcap's kernel ring must be to hold a given number of packets.
 *
 * Ring facts (libpcap 1.10 on Linux, immediate mode → TPACKET_V2, pcap-linux.c create_ring): every
 * packet takes one fixed-size frame of TPACKET_ALIGN(header area + snap length) bytes, frames do
 * not cross a block and a block is one page. So the snap length, not the packet, sets the memory
 * per packet, and a 65,535-byte snap length (what the `cap` package, used before koffi, fixed) made
 * every frame ~64 KiB.
 * Checked against the ring's mapping in /proc/PID/maps: 8192 packets map 2 MiB at snap length 160,
 * 6.4 MiB at 672 and 16 MiB at 1660, as computed here.
 */

/** Per-frame overhead before the packet in a TPACKET_V2 ring frame: tpacket2_hdr, sockaddr_ll, reserve, alignment. */
export const RING_FRAME_OVERHEAD = 96;
const PAGE = 4096;
const ALIGN = 16;

/** Bytes of one ring frame for `snapLen`. */
export function ringFrameBytes(snapLen: number): number {
  return Math.ceil((snapLen + RING_FRAME_OVERHEAD) / ALIGN) * ALIGN;
}

/**
 * The `pcap_set_buffer_size` value that gives at least `packets` frames, and what it really costs
 * (whole pages: the frames that fit in a page, the rest of the page unused).
 */
export function ringFor(packets: number, snapLen: number): { bufferBytes: number; frames: number; memoryBytes: number } {
  if (!(Number.isInteger(packets) && packets >= 1)) throw new RangeError(`ring packets must be an integer >= 1, not ${packets}`);
  const frame = ringFrameBytes(snapLen);
  const perPage = Math.max(1, Math.floor(PAGE / frame));
  const pageBytes = perPage > 1 || frame <= PAGE ? PAGE : Math.ceil(frame / PAGE) * PAGE;
  const blocks = Math.ceil(packets / perPage);
  // libpcap rounds the frame count down to whole blocks: ask for whole blocks.
  return { bufferBytes: blocks * perPage * frame, frames: blocks * perPage, memoryBytes: blocks * pageBytes };
}
