/**
 * How many bytes of each packet the capture keeps (the snap length): what we decode and no more,
 * because the snap length, not the packet, sets the capture ring's memory per packet
 * (src/io/pcap-ring.ts). Pure: the numbers come from the config.
 */

/** Cooked v2 link header (DLT_LINUX_SLL2) on `any`. */
export const SLL2_HEADER = 20;
/**
 * Room for the link header, an IP header with options or IPv6 extension headers, and the TCP/UDP
 * header: 20 + 40 + 92 + 8. A knock needs nothing past the TCP flags byte.
 */
export const HEADER_BUDGET = 160;
/** Largest UDP payload of our SPA datagrams: MAX_PACKET_LEN of src/spa/wire.ts (a unit test keeps them equal). */
export const SPA_MAX_PAYLOAD = 1024;
/** Largest fwknop 2.6 SPA datagram payload a door with `spa.format: fwknop` accepts (FWKNOP_MAX_PACKET_LEN, kept equal by a test). */
export const FWKNOP_MAX_PAYLOAD = 1500;
/** The parts of the config this module reads (structural: `packet/` imports only `core/`). */
export interface SnapConfigView {
  readonly doors: readonly ({ readonly kind: 'knock' } | { readonly kind: 'spa'; readonly spa: { readonly port: number; readonly format?: string } })[];
}

/**
 * Knock-only configs need headers only; an SPA door needs its largest datagram; a door with
 * `spa.format: fwknop` needs fwknop's largest.
 */
export function snapLengthFor(cfg: SnapConfigView): number {
  let payload = 0;
  for (const d of cfg.doors) {
    if (d.kind !== 'spa') continue;
    const max = d.spa.format === 'fwknop' ? FWKNOP_MAX_PAYLOAD : SPA_MAX_PAYLOAD;
    if (max > payload) payload = max;
  }
  return HEADER_BUDGET + payload;
}
