/** Single Packet Authorization v2: wire format, envelope crypto, verifier, replay cache, client, keys, identity. Pure. */
export { SPA_VERSION, MIN_PACKET_LEN, MAX_PACKET_LEN, NONCE_LEN, type SpaRequest } from './wire';
export { buildSpaKeyring, keyringFor, type SpaKeyring } from './keyring';
export { verifySpa, SPA_REJECT_REASONS, type SpaRejectReason, type SpaVerifyContext, type SpaAccepted, type SpaVerdict } from './verify';
export { ReplayCache, RECORD_LEN, type ReplayLoad, type ReplayRejectReason } from './replay-cache';
export { CostLimiter, DEFAULT_COST_LIMITS, sourceKey, type CostLimits } from './cost-limit';
export { buildSpaPacket, type SpaPacketInput } from './client';
export {
  type SpaClientKey, type SpaTarget, type ClientKeyFile, generateClientKey, serverEntryOf, formatClientKeyFile, formatTargetLines,
  parseClientKeyFile, parseServerKey, parseServerPublicKey, checkKeyFileMode,
} from './keys';
export {
  type SpaIdentity, generateIdentity, needsSpaIdentity, formatIdentityFile, parseIdentityFile, formatServerIdentity, parseServerIdentity, identityFingerprint,
} from './identity';
export { parsePublicAddress } from './public-address';
export { verifyDatagram, type DatagramVerdict } from './dispatch';
export { FWKNOP_MAX_PACKET_LEN, verifyFwknop, FWKNOP_REJECT_REASONS, type FwknopVerdict } from './fwknop';
