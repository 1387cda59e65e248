/**
 * Per-door lookup structure, built once per config and server identity: the mac1 key, the
 * server's private key object, and every client by its 16-byte id, so finding the client of an
 * authentic datagram is one map lookup whatever the number of clients.
 */
import type { KeyObject } from 'node:crypto';
import { formatService, sameService, type Service } from '../core';
import type { SpaClient, SpaDoor } from '../config';
import { authKey, clientId, ed25519PublicKeyObject, mac1Key, x25519PrivateKeyObject } from './envelope';
import type { SpaIdentity } from './identity';

export interface KeyringEntry {
  readonly client: SpaClient;
  /** aead clients: the authenticator key. */
  readonly auth?: KeyObject;
  /** Ed25519 clients: the public key. */
  readonly publicKey?: KeyObject;
  /** What this client may open: its own `open` (a subset of the door's), else the door's. */
  readonly allowed: readonly Service[];
  /** The same, by canonical text, as requests name them. */
  readonly allowedText: ReadonlyMap<string, Service>;
}

export interface SpaKeyring {
  readonly door: SpaDoor;
  readonly identity: SpaIdentity;
  readonly mac1: Uint8Array;
  readonly serverKey: KeyObject;
  /** Client id (latin1 string of the 16 bytes) → entry. */
  readonly byId: ReadonlyMap<string, KeyringEntry>;
}

export function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}

export function buildSpaKeyring(door: SpaDoor, identity: SpaIdentity): SpaKeyring {
  const byId = new Map<string, KeyringEntry>();
  for (const client of door.spa.clients) {
    // Intersect with the door's list even though config normalization checks it: a grant must
    // never exceed the door, whatever built the SpaDoor.
    const own = client.open ?? door.open;
    const allowed = own.filter((p) => door.open.some((o) => sameService(o, p)));
    const allowedText = new Map(allowed.map((p) => [formatService(p), p] as const));
    const entry: KeyringEntry = client.type === 'ed25519'
      ? { client, allowed, allowedText, publicKey: ed25519PublicKeyObject(client.key) }
      : { client, allowed, allowedText, auth: authKey(client.key) };
    byId.set(idKey(clientId(client.type, client.key)), entry);
  }
  return { door, identity, mac1: mac1Key(identity.pub, door.name), serverKey: x25519PrivateKeyObject(identity.priv), byId };
}

const cache = new WeakMap<SpaDoor, SpaKeyring>();

/** The keyring of a door, built on first use and kept as long as the door object lives. */
export function keyringFor(door: SpaDoor, identity: SpaIdentity): SpaKeyring {
  let k = cache.get(door);
  if (!k || k.identity !== identity) {
    k = buildSpaKeyring(door, identity);
    cache.set(door, k);
  }
  return k;
}
