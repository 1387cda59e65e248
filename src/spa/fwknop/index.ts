/** fwknop 2.x SPA datagrams (`spa.format: fwknop`): decoder, verifier, builder. Pure. */
export { FWKNOP_MAX_PACKET_LEN, FWKNOP_MIN_PACKET_LEN, FKO_MSG, type FwknopRequest, decodePlaintext } from './wire';
export { HMAC_B64_LEN, fwknopHmac, hmacMatches, deriveKeyIv, decryptBody, encryptBody, isRijndaelBody } from './crypto';
export { verifyFwknop, fwknopReplayKey, FWKNOP_REJECT_REASONS, type FwknopRejectReason, type FwknopVerifyContext, type FwknopAccepted, type FwknopVerdict } from './verify';
export { buildFwknopDatagram, type FwknopDatagramInput } from './encode';
