/** The shape of what the daemon runs for one config (built by runtime.ts). */
import type { Config, SpaDoor } from '../config';
import type { KnockEngine, OneTimeSource } from '../knock';
import type { SpaKeyring } from '../spa';

export interface SpaEndpoint {
  readonly door: SpaDoor;
  /** The door's keyring for this server's identity; absent for `format: fwknop` doors, which need none. */
  readonly keyring?: SpaKeyring;
}

export interface Runtime {
  readonly cfg: Config;
  readonly engine: KnockEngine;
  readonly spaByPort: ReadonlyMap<number, SpaEndpoint>;
  readonly oneTime: ReadonlyMap<string, OneTimeSource>;
  readonly filter: string;
  /** Bytes of each packet the capture keeps: headers, plus the largest SPA datagram a door accepts. */
  readonly snapLen: number;
  /** Longest SPA window in ms (the replay cache must keep nonces at least this long). */
  readonly spaWindowMs: number;
}
