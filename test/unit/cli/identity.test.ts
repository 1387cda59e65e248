/** keygen and identity serve SPA doors of nftknock's format only: fwknop-format doors have no use for the server identity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadConfigText } from '../../../src/config';
import { spaDoorOf } from '../../../src/cli/identity';

const b64 = (label: string, n: number): string => `base64:${createHash('sha512').update(label).digest().subarray(0, n).toString('base64')}`;
const FWKNOP = `  fw:\n    spa: { port: 62202, format: fwknop, clients: { laptop: { key: "${b64('k', 32)}", hmac_key: "${b64('h', 64)}" } } }\n    open: ["22/tcp"]\n`;
const V2 = `  spa:\n    spa: { clients: { alice: { key: "${b64('a', 32)}" } } }\n    open: ["443/tcp"]\n`;
const cfg = (doors: string) => loadConfigText(`table: kt\ndoors:\n${doors}`).config;

test('spaDoorOf: a fwknop-format door is refused with the reason; with one v2 door beside it, that one is the default', () => {
  assert.throws(() => spaDoorOf(cfg(FWKNOP), undefined, 'c.yaml'), { code: 'ERR_USAGE', message: /^c\.yaml has no SPA door of nftknock's format \(fw: "format: fwknop"; its clients use fwknop's own keys/ });
  assert.throws(() => spaDoorOf(cfg(FWKNOP + V2), 'fw', 'c.yaml'), { code: 'ERR_USAGE', message: /^--door fw: a "format: fwknop" door; its clients use fwknop's own keys \(fwknop --key-gen\) and no server identity$/ });
  assert.equal(spaDoorOf(cfg(FWKNOP + V2), undefined, 'c.yaml').name, 'spa');
  assert.equal(spaDoorOf(cfg(FWKNOP + V2), 'spa', 'c.yaml').name, 'spa');
});
