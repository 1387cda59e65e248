export { decodeFrame } from './decode';
export { DuplicateFilter } from './duplicates';
export { DECODE_REASONS, type DecodeReason, type DecodeOutcome } from './reasons';
export { LinkType, MAX_VLAN_TAGS } from './link';
export { MAX_EXT_HEADERS } from './ipv6';
export {
  buildCaptureFilter,
  captureSpecFromConfig,
  MATCH_NOTHING,
  type CaptureSpec,
  type PortRange,
  type CaptureConfigView,
  type CaptureDoorView,
} from './capture-filter';
export { snapLengthFor, HEADER_BUDGET, SPA_MAX_PAYLOAD, FWKNOP_MAX_PAYLOAD, type SnapConfigView } from './capture-size';
