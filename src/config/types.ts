/** The normalized, validated configuration: what the rest of the program works with. */
import type { Cidr, PortSpec, KnockStep, TcpFlagsFilter, Proto, Service } from '../core';
import type { FwknopClient } from './fwknop-client';

export type { FwknopClient, FwknopHmacDigest } from './fwknop-client';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  readonly table: string;
  readonly interfaces: readonly string[];
  readonly stateDir: string;
  readonly logLevel: LogLevel;
  readonly limits: { readonly maxSources: number; readonly maxReplay: number; readonly captureRing: number };
  /**
   * Our table deleted or damaged by someone else: reinstall it, or only log. Optional so configs
   * built in code stay valid; normalize always sets it, and absent means `reinstall`.
   */
  readonly onRulesetMissing?: 'reinstall' | 'log';
  readonly base: BaseConfig;
  readonly metrics?: { readonly listen: string };
  readonly doors: readonly Door[];
}

export interface BaseConfig {
  readonly policy: 'drop' | 'guard';
  readonly allow: readonly PortSpec[];
  readonly icmp: boolean;
  readonly allowFrom: readonly Cidr[];
}

/** Hooks for knockd users: argv lists, never shell strings. */
export interface DoorHooks {
  readonly command?: readonly string[];
  readonly startCommand?: readonly string[];
  readonly stopCommand?: readonly string[];
  readonly cmdTimeoutSec: number;
}

interface DoorCommon {
  readonly name: string;
  /** What a grant opens: local services, forwarded services, port forwards (core/service.ts). */
  readonly open: readonly Service[];
  readonly timeoutSec: number;
  /** Elements per set of this door (its own sets: see nft/layout.ts); undefined = the default, 65536. */
  readonly setSize?: number;
  readonly action: 'grant' | 'revoke';
  /** Source networks allowed to knock; undefined = any. */
  readonly from?: readonly Cidr[];
  readonly interfaces?: readonly string[];
  /** Destination addresses that count; undefined = this host's own addresses. */
  readonly target?: readonly Cidr[];
  readonly hooks: DoorHooks;
}

export interface StaticSequence {
  readonly type: 'static';
  readonly steps: readonly KnockStep[];
}

export interface RotatingSequence {
  readonly type: 'rotate';
  readonly secretFile: string;
  readonly length: number;
  readonly stepSec: number;
  readonly portLow: number;
  readonly portHigh: number;
  readonly protocols: readonly Proto[];
}

export interface KnockDoor extends DoorCommon {
  readonly kind: 'knock';
  readonly mode: 'daemon' | 'kernel';
  readonly sequence: StaticSequence | RotatingSequence;
  readonly seqTimeoutSec: number;
  readonly tcpFlags: TcpFlagsFilter;
  readonly oneTimeFile?: string;
}

export interface SpaClient {
  readonly name: string;
  /** `aead`: shared 32-byte key. `ed25519`: the client signs, we hold its 32-byte public key. */
  readonly type: 'aead' | 'ed25519';
  readonly key: Uint8Array;
  /** Subset of the door's `open` this client may ask for; undefined = all of it. */
  readonly open?: readonly Service[];
}

export interface SpaSettings {
  readonly port: number;
  readonly windowSec: number;
  readonly maxTimeoutSec?: number;
  readonly allowAddress: boolean;
  /** The datagram must carry an address equal to its source (fwknop's REQUIRE_SOURCE_ADDRESS). */
  readonly requireAddress?: boolean;
  readonly natPrefix4?: number;
  readonly natPrefix6?: number;
  readonly clients: readonly SpaClient[];
  /** Wire format; absent = nftknock's own. `fwknop`: fwknop 2.x datagrams, stanzas in `fwknop`. */
  readonly format?: 'nftknock' | 'fwknop';
  /** The stanzas of a `format: fwknop` door (its `clients`); `clients` is then empty. */
  readonly fwknop?: readonly FwknopClient[];
}

export interface SpaDoor extends DoorCommon {
  readonly kind: 'spa';
  readonly spa: SpaSettings;
}

export type Door = KnockDoor | SpaDoor;

/** The result of loading a config: the config and anything worth a warning. */
export interface LoadedConfig {
  readonly config: Config;
  readonly warnings: readonly import('../core').ConfigIssue[];
}
