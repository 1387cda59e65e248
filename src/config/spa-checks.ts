/**
 * SPA door checks a schema cannot express: weak keys, upper bounds on settings that weaken a door,
 * and combinations that make no sense. Errors and warnings carry the key's path; secrets are never
 * echoed.
 */
import type { SpaClient, SpaSettings } from './types';
import { weakAeadKey, weakEd25519Key } from './weak-keys';

type Segs = (string | number)[];

export interface SpaCheckSink {
  err(segs: Segs, message: string): void;
  warn(segs: Segs, message: string): void;
}

/** Above this a window is refused: replays and clock games get that long. */
export const MAX_SPA_WINDOW_SEC = 3600;
const WARN_SPA_WINDOW_SEC = 300;
/** Above this max_timeout is refused: SPA grants are meant to be short. */
export const MAX_SPA_MAX_TIMEOUT_SEC = 7 * 86400;
const WARN_SPA_MAX_TIMEOUT_SEC = 86400;
const WARN_NAT4 = 24;
const WARN_NAT6 = 48;

export function checkSpaClient(c: SpaClient, segs: Segs, sink: SpaCheckSink): void {
  if (c.key.length !== 32) return;
  const why = c.type === 'aead' ? weakAeadKey(c.key) : weakEd25519Key(c.key);
  if (!why) return;
  sink.err([...segs, c.type === 'aead' ? 'key' : 'public_key'], c.type === 'aead'
    ? `${why}: a weak key; make a real one with knockctl keygen`
    : `${why}: not a usable Ed25519 public key; make one with knockctl keygen --ed25519`);
}

export function checkSpaSettings(spa: SpaSettings, hasFrom: boolean, segs: Segs, sink: SpaCheckSink): void {
  if (spa.windowSec > MAX_SPA_WINDOW_SEC) sink.err([...segs, 'window'], `${spa.windowSec}s is too long: at most ${MAX_SPA_WINDOW_SEC}s (fix the clocks, or let the client use --time-offset)`);
  else if (spa.windowSec > WARN_SPA_WINDOW_SEC) sink.warn([...segs, 'window'], `${spa.windowSec}s lets a datagram be used that long after it was made; the default is 120s`);
  const mt = spa.maxTimeoutSec;
  if (mt !== undefined && mt > MAX_SPA_MAX_TIMEOUT_SEC) sink.err([...segs, 'max_timeout'], `${mt}s is too long: at most ${MAX_SPA_MAX_TIMEOUT_SEC}s (7d)`);
  else if (mt !== undefined && mt > WARN_SPA_MAX_TIMEOUT_SEC) sink.warn([...segs, 'max_timeout'], `${mt}s: a client may keep the door open for more than a day`);
  if (spa.natPrefix4 !== undefined && spa.natPrefix4 < WARN_NAT4) {
    sink.warn([...segs, 'nat_prefix', 'ipv4'], `/${spa.natPrefix4} opens the door to ${2 ** (32 - spa.natPrefix4)} addresses around each client`);
  }
  if (spa.natPrefix6 !== undefined && spa.natPrefix6 < WARN_NAT6) {
    sink.warn([...segs, 'nat_prefix', 'ipv6'], `/${spa.natPrefix6} opens the door to a network far larger than one site (/48)`);
  }
  if (spa.requireAddress && spa.allowAddress) sink.err([...segs, 'require_address'], 'cannot be used with allow_address: require_address means the address must be the source');
  if (spa.allowAddress && !hasFrom) sink.warn([...segs, 'allow_address'], 'a client may open any address on the Internet; set the door\'s from to bound the addresses it may name');
  if (spa.format === 'fwknop' && spa.requireAddress) sink.err([...segs, 'require_address'], 'is for nftknock datagrams; a format: fwknop door sets require_address per client (fwknopd\'s REQUIRE_SOURCE_ADDRESS)');
  if (spa.clients.length === 0 && !spa.fwknop?.length) sink.warn([...segs, 'clients'], 'no clients yet: this door opens for nobody (add one with knockctl keygen -c CONFIG --door DOOR)');
}
