/**
 * One entry for the daemon: a door's datagram goes to the verifier of the door's `spa.format`.
 * Every format answers in the same shape (ok + grant + replay record, or a reason).
 */
import { verifySpa, type SpaVerdict, type SpaVerifyContext } from './verify';
import { verifyFwknop, type FwknopVerdict } from './fwknop';

export type DatagramVerdict = SpaVerdict | FwknopVerdict;

/** The context of either verifier: `keyring` (this server's identity) only for nftknock's format. */
export type DatagramContext = Omit<SpaVerifyContext, 'keyring'> & { readonly keyring?: SpaVerifyContext['keyring'] };

export function verifyDatagram(packet: Uint8Array, ctx: DatagramContext): DatagramVerdict {
  if (ctx.door.spa.format === 'fwknop') return verifyFwknop(packet, ctx);
  // The runtime builds a keyring for every door of this format; a missing one is our bug, which the
  // daemon's per-packet catch counts as internal-error.
  if (!ctx.keyring) throw new Error(`SPA door ${ctx.door.name} has no keyring`);
  return verifySpa(packet, ctx as SpaVerifyContext);
}
