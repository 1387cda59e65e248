export * from './types';
export { KnockEngine, daemonKnockDoors } from './engine';
export { deriveSequence, stepCounter, parseSecret, rotatingSource, ROTATE_LABEL, MIN_SECRET_BYTES, type RotateParams } from './rotate';
export {
  parseOneTimeSequences, consumedKey, canonicalSequence, formatConsumed, parseConsumed, OneTimeSource, ONE_TIME_LABEL,
  type OneTimeLine, type OneTimeIssue,
} from './one-time';
