/** The runtime asks for the server's SPA identity only for SPA doors of nftknock's format. */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { checkRuntime } from '../../../src/daemon';
import { loadConfigText } from '../../../src/config';
import { generateIdentity } from '../../../src/spa';

const bytes = (label: string, n: number): string => `base64:${createHash('sha512').update(label).digest().subarray(0, n).toString('base64')}`;
const KEY = bytes('runtime test key', 32);
const HMAC = bytes('runtime test hmac', 64);
const KNOCK = `  ssh:\n    sequence: ["7000", "8000"]\n    open: ["22/tcp"]\n`;
const FWKNOP = `  fw:\n    spa: { port: 62202, format: fwknop, clients: { laptop: { key: "${KEY}", hmac_key: "${HMAC}" } } }\n    open: ["22/tcp"]\n`;
const V2 = `  spa:\n    spa: { clients: { alice: { key: "${KEY}" } } }\n    open: ["443/tcp"]\n`;
const IDENTITY = generateIdentity(() => new Uint8Array(32).fill(0x33));

async function run(doors: string) {
  let loads = 0;
  const files = { readFile: async () => new Uint8Array(), spaIdentity: () => (loads++, IDENTITY) };
  const r = await checkRuntime(loadConfigText(`table: kt\ndoors:\n${doors}`).config, files, { read: async () => undefined }, () => true);
  assert.deepEqual(r.issues, []);
  return { rt: r.runtime!, loads };
}

test('knock doors and format: fwknop doors never load the identity; a v2 SPA door loads it once and gets a keyring', async () => {
  assert.equal((await run(KNOCK)).loads, 0, 'knock only');
  const fw = await run(KNOCK + FWKNOP);
  assert.equal(fw.loads, 0, 'fwknop doors use their stanzas\' keys alone');
  assert.equal(fw.rt.spaByPort.get(62202)?.keyring, undefined);
  const v2 = await run(KNOCK + FWKNOP + V2);
  assert.equal(v2.loads, 1);
  assert.equal(v2.rt.spaByPort.get(62201)?.keyring?.identity, IDENTITY);
  assert.equal(v2.rt.spaByPort.get(62202)?.keyring, undefined);
});
