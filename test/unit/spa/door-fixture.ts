/** Builds SpaDoor values for tests, in the config file's words. */
import type { SpaClient, SpaDoor } from '../../../src/config';
import { parseCidr, parsePortSpec, parseService, type PortSpec, type Service } from '../../../src/core';
import { generateIdentity, type SpaIdentity } from '../../../src/spa';

/** A fixed server identity for tests, and a second one (another server sharing the config). */
export const SERVER_A: SpaIdentity = generateIdentity(() => new Uint8Array(32).fill(0xa1));
export const SERVER_B: SpaIdentity = generateIdentity(() => new Uint8Array(32).fill(0xb2));

export interface DoorText {
  readonly name?: string;
  readonly open: readonly string[];
  readonly timeout?: number;
  readonly window?: number;
  readonly max_timeout?: number;
  readonly allow_address?: boolean;
  readonly require_address?: boolean;
  readonly nat_prefix?: { readonly ipv4?: number; readonly ipv6?: number };
  readonly from?: readonly string[];
}

export interface ClientText {
  readonly name: string;
  readonly key?: string;
  readonly public_key?: string;
  readonly open?: readonly string[];
}

export function ports(list: readonly string[]): PortSpec[] {
  return list.map((s) => {
    const p = parsePortSpec(s);
    if (!p.ok) throw new Error(s);
    return p.value;
  });
}

/** Door and client `open` lists: any Service form. */
export function services(list: readonly string[]): Service[] {
  return list.map((s) => {
    const p = parseService(s);
    if (!p.ok) throw new Error(s);
    return p.value;
  });
}

export function makeClient(c: ClientText): SpaClient {
  const text = (c.key ?? c.public_key) as string;
  return {
    name: c.name,
    type: c.key !== undefined ? 'aead' : 'ed25519',
    key: new Uint8Array(Buffer.from(text.slice(text.indexOf(':') + 1), 'base64')),
    ...(c.open ? { open: services(c.open) } : {}),
  };
}

export function makeDoor(d: DoorText, clients: readonly ClientText[]): SpaDoor {
  return {
    kind: 'spa',
    name: d.name ?? 'ssh-spa',
    open: services(d.open),
    timeoutSec: d.timeout ?? 30,
    action: 'grant',
    hooks: { cmdTimeoutSec: 10 },
    ...(d.from ? { from: d.from.map((s) => parseCidr(s)!) } : {}),
    spa: {
      port: 62201,
      windowSec: d.window ?? 120,
      allowAddress: d.allow_address ?? false,
      ...(d.require_address ? { requireAddress: true } : {}),
      clients: clients.map(makeClient),
      ...(d.max_timeout !== undefined ? { maxTimeoutSec: d.max_timeout } : {}),
      ...(d.nat_prefix?.ipv4 !== undefined ? { natPrefix4: d.nat_prefix.ipv4 } : {}),
      ...(d.nat_prefix?.ipv6 !== undefined ? { natPrefix6: d.nat_prefix.ipv6 } : {}),
    },
  };
}

/** Deterministic byte source for nonces: a counter, never the same 24 bytes twice. */
export function counterRandom(seed = 1): (n: number) => Uint8Array {
  let c = seed;
  return (n) => {
    const b = new Uint8Array(n);
    new DataView(b.buffer).setUint32(0, c++);
    b[n - 1] = 0x5a;
    return b;
  };
}

export { seeded } from '../../support/prng';
