/**
 * Per-door lookup structure, built once per config: every client's sub-keys are derived here, so
 * the per-packet path only computes one HMAC hint per client and derives nothing for garbage.
 */
import type { KeyObject } from 'node:crypto';
import { type Service, sameService } from '../core';
import type { SpaClient, SpaDoor } from '../config';
import { type EnvelopeKeys, deriveEnvelopeKeys, ed25519PublicKeyObject } from './envelope';

export interface KeyringEntry {
  readonly client: SpaClient;
  readonly keys: EnvelopeKeys;
  /** Ed25519 clients only. */
  readonly publicKey?: KeyObject;
  /** What this client may open: its own `open` (a subset of the door's), else the door's. */
  readonly allowed: readonly Service[];
}

export interface SpaKeyring {
  readonly door: SpaDoor;
  readonly entries: readonly KeyringEntry[];
}

export function buildSpaKeyring(door: SpaDoor): SpaKeyring {
  const entries = door.spa.clients.map((client): KeyringEntry => {
    const keys = deriveEnvelopeKeys(client.type, client.key);
    // Intersect with the door's list even though config normalization checks it: a grant must
    // never exceed the door, whatever built the SpaDoor.
    const own = client.open ?? door.open;
    const allowed = own.filter((p) => door.open.some((o) => sameService(o, p)));
    return client.type === 'ed25519' ? { client, keys, allowed, publicKey: ed25519PublicKeyObject(client.key) } : { client, keys, allowed };
  });
  return { door, entries };
}

const cache = new WeakMap<SpaDoor, SpaKeyring>();

/** The keyring of a door, built on first use and kept as long as the door object lives. */
export function keyringFor(door: SpaDoor): SpaKeyring {
  let k = cache.get(door);
  if (!k) {
    k = buildSpaKeyring(door);
    cache.set(door, k);
  }
  return k;
}
