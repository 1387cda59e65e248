/**
 * One entry for the daemon: a door's datagram goes to the verifier of the door's `spa.format`.
 * Every format answers in the same shape (ok + grant + replay record, or a reason).
 */
import { verifySpa, type SpaVerdict, type SpaVerifyContext } from './verify';
import { verifyFwknop, type FwknopVerdict } from './fwknop';

export type DatagramVerdict = SpaVerdict | FwknopVerdict;

export function verifyDatagram(packet: Uint8Array, ctx: SpaVerifyContext): DatagramVerdict {
  return ctx.door.spa.format === 'fwknop' ? verifyFwknop(packet, ctx) : verifySpa(packet, ctx);
}
