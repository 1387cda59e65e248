/** Single Packet Authorization: wire format, envelope crypto, verifier, replay cache, client, keys. Pure. */
export { SPA_VERSION, MIN_PACKET_LEN, MAX_PACKET_LEN, NONCE_LEN, type SpaRequest } from './wire';
export { buildSpaKeyring, keyringFor, type SpaKeyring } from './keyring';
export { verifySpa, SPA_REJECT_REASONS, type SpaRejectReason, type SpaVerifyContext, type SpaAccepted, type SpaVerdict } from './verify';
export { ReplayCache, RECORD_LEN, type ReplayLoad, type ReplayRejectReason } from './replay-cache';
export { buildSpaPacket, type SpaPacketInput } from './client';
export {
  type SpaClientKey, generateClientKey, serverEntryOf, formatClientKeyFile, parseClientKeyFile, parseServerKey,
  parseServerPublicKey, checkKeyFileMode,
} from './keys';
export { verifyDatagram, type DatagramVerdict } from './dispatch';
export { FWKNOP_MAX_PACKET_LEN, verifyFwknop, FWKNOP_REJECT_REASONS, type FwknopVerdict } from './fwknop';
