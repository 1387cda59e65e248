/**
 * Fuzz targets of the fwknop format: the verifier on mutated client datagrams, the plaintext decoder
 * on mutated plaintexts (what only a key holder can make the server decrypt), and import-fwknop on
 * mutated access.conf / fwknopd.conf text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/core';
import { loadConfigText, type SpaDoor } from '../../src/config';
import { importFwknop } from '../../src/config/fwknop-import';
import { ReplayCache } from '../../src/spa';
import { FWKNOP_REJECT_REASONS, HMAC_B64_LEN, decodePlaintext, decryptBody, verifyFwknop } from '../../src/spa/fwknop';
import { garbage, int, mutateBytes, mutateText, pick } from './mutate';
import { FuzzFailure, REPO, type FuzzTarget } from './targets';

function fail(msg: string): never {
  throw new FuzzFailure(msg);
}

interface VectorCase { name: string; key_passphrase?: string; hmac_digest: string; datagram: string; expect: { timestamp: number; type: number } }
interface Case { door: SpaDoor; nowMs: number; good: Uint8Array; accepts: boolean; plain: string }

function cases(): Case[] {
  const v = JSON.parse(readFileSync(join(REPO, 'test/vectors/fwknop/client-2.6.10.json'), 'utf8')) as { key_base64: string; hmac_key_base64: string; cases: VectorCase[] };
  return v.cases.map((c) => {
    const key = c.key_passphrase !== undefined ? Buffer.from(c.key_passphrase).toString('base64') : v.key_base64;
    const text = `doors:\n  fw:\n    open: ["22/tcp", "53/udp", "443/tcp"]\n    spa:\n      format: fwknop\n      clients:\n        c: { key: "base64:${key}", hmac_key: "base64:${v.hmac_key_base64}", hmac_digest: ${c.hmac_digest} }\n`;
    const door = loadConfigText(text).config.doors[0] as SpaDoor;
    const plain = decryptBody(c.datagram.slice(0, -HMAC_B64_LEN[c.hmac_digest as 'sha256']), Buffer.from(key, 'base64')) ?? fail(`vector ${c.name} does not decrypt`);
    return { door, nowMs: c.expect.timestamp * 1000, good: Buffer.from(c.datagram, 'latin1'), accepts: c.expect.type === 1 || c.expect.type === 3, plain };
  });
}

interface VerifyInput { c: Case; packet: Uint8Array; mutated: boolean }

export function checkFwknop(input: VerifyInput): void {
  const replay = new ReplayCache(120_000, 1000);
  const r = verifyFwknop(input.packet, { src: '192.0.2.7', door: input.c.door, nowMs: input.c.nowMs, replay });
  if (r.ok) {
    if (input.mutated) fail(`a mutated datagram was accepted (client ${r.value.client})`);
    return;
  }
  if (!(FWKNOP_REJECT_REASONS as readonly string[]).includes(r.reason)) fail(`unknown reason ${String(r.reason)}`);
  if (!input.mutated && input.c.accepts) fail(`the unmutated vector was refused: ${r.reason}`);
  if (input.mutated && replay.size !== 0) fail('a refused mutated datagram left a digest in the replay cache');
}

export function fwknopVerifyTarget(): FuzzTarget<VerifyInput> {
  const cs = cases();
  const goods = cs.map((c) => c.good);
  return {
    name: 'verify-fwknop',
    next(r) {
      const c = pick(r, cs);
      const k = int(r, 20);
      if (k === 0) return { c, packet: c.good, mutated: false };
      const packet = k < 3 ? garbage(r, 1600) : mutateBytes(r, c.good, goods, 1600);
      const owner = cs.find((x) => Buffer.from(packet).equals(Buffer.from(x.good)));
      return owner ? { c: owner, packet, mutated: false } : { c, packet, mutated: true };
    },
    check: checkFwknop,
    show: (i) => `nowMs ${i.c.nowMs} datagram ${Buffer.from(i.packet).toString('latin1')}`,
  };
}

export function fwknopPlaintextTarget(): FuzzTarget<string> {
  const corpus = cases().map((c) => c.plain);
  return {
    name: 'decode-fwknop-plaintext',
    next: (r) => mutateText(r, pick(r, corpus), corpus),
    check(text) {
      const d = decodePlaintext(text);
      if (!d.ok && !(FWKNOP_REJECT_REASONS as readonly string[]).includes(d.reason)) fail(`unknown reason ${d.reason}`);
      if (d.ok && (d.value.access.length === 0 || !Number.isSafeInteger(d.value.timestamp))) fail('accepted a request without services or with a bad timestamp');
    },
    show: (t) => JSON.stringify(t),
  };
}

export function fwknopImportTarget(): FuzzTarget<{ access: string; daemon: string }> {
  const access = readFileSync(join(REPO, 'test/fixtures/fwknop/access.conf'), 'utf8');
  const daemon = readFileSync(join(REPO, 'test/fixtures/fwknop/fwknopd.conf'), 'utf8');
  return {
    name: 'import-fwknop',
    next: (r) => ({ access: int(r, 4) ? mutateText(r, access, [access]) : access, daemon: int(r, 2) ? mutateText(r, daemon, [daemon]) : daemon }),
    check(i) {
      let yaml: string;
      try {
        yaml = importFwknop({ accessText: i.access, accessFile: 'access.conf', fwknopdText: i.daemon, fwknopdFile: 'fwknopd.conf', nowSec: 1_796_000_000 }).yaml;
      } catch (e) {
        if (e instanceof ConfigError && e.issues.length > 0) return;
        throw e;
      }
      // What the importer writes without an error must be a config the daemon loads.
      try {
        loadConfigText(yaml);
      } catch (e) {
        if (e instanceof ConfigError) fail(`the imported config does not load: ${e.issues.map((x) => `${x.path}: ${x.message}`).join('; ')}`);
        throw e;
      }
    },
    show: (i) => JSON.stringify(i),
  };
}
