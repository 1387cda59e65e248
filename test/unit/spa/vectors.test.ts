import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpaKeyring, buildSpaPacket, parseIdentityFile, ReplayCache, verifySpa, type SpaClientKey } from '../../../src/spa';
import { referenceEncode, x25519Public, type VectorInput } from './reference-encoder';
import { makeDoor, type ClientText, type DoorText } from './door-fixture';

export interface Vector {
  description: string;
  input: VectorInput;
  /** serverPrivate: the server identity's X25519 private key, base64 (input.server is its public key). */
  server: { serverPrivate: string; door: DoorText; client: ClientText; src: string; nowMs: number };
  packet: string;
  expect: { client: string; grant: unknown };
}

const DIR = join(__dirname, '../../../../test/vectors/spa');
const files = ['aead.json', 'ed25519.json'];

for (const f of files) {
  const vectors = (JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { vectors: Vector[] }).vectors;
  test(`${f} holds vectors`, () => assert.ok(vectors.length >= 2));
  for (const v of vectors) {
    test(`${f}: ${v.description}`, () => {
      const key = Buffer.from(v.input.secret, 'base64');
      const clientKey: SpaClientKey = v.input.mode === 'aead' ? { type: 'aead', key } : { type: 'ed25519', seed: key };
      assert.equal(x25519Public(Buffer.from(v.server.serverPrivate, 'base64')).toString('base64'), v.input.server, 'the identity pair matches');
      const built = buildSpaPacket({
        key: clientKey,
        server: Buffer.from(v.input.server, 'base64'),
        door: v.input.door,
        access: v.input.access,
        nowMs: v.input.tsMs,
        random: () => Buffer.from(v.input.ephemeral, 'hex'),
        ...(v.input.addr !== undefined ? { addr: v.input.addr } : {}),
        ...(v.input.timeoutSec !== undefined ? { timeoutSec: v.input.timeoutSec } : {}),
      });
      assert.equal(Buffer.from(built).toString('hex'), v.packet, 'implementation matches the vector');
      assert.equal(referenceEncode(v.input).toString('hex'), v.packet, 'the doc-only encoder matches the vector');
      const id = parseIdentityFile(`nftknock-spa-identity v2 x25519 base64:${v.server.serverPrivate}\n`);
      assert.ok(id.ok);
      const door = makeDoor(v.server.door, [v.server.client]);
      const r = verifySpa(Buffer.from(v.packet, 'hex'), { src: v.server.src, door, nowMs: v.server.nowMs, replay: new ReplayCache(120_000, 1000), keyring: buildSpaKeyring(door, id.value) });
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.value.client, v.expect.client);
      assert.deepEqual(r.value.grant, v.expect.grant);
    });
  }
}
