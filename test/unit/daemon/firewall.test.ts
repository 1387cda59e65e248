import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NftBatch, NftRunner } from '../../../src/core';
import { Firewall } from '../../../src/daemon';
import { buildRuleset } from '../../../src/nft';
import { loadConfigText } from '../../../src/config';

/** An nft that lists whatever the last applied batch created (enough for health checks). */
class ListingNft implements NftRunner {
  listing: unknown = { nftables: [] };
  async apply(): Promise<void> {}
  async check(): Promise<void> {}
  async list(): Promise<unknown> {
    return this.listing;
  }
}

function listingOf(batch: NftBatch): unknown {
  const items = batch.nftables.filter((c) => 'add' in c).map((c) => (c as { add: Record<string, unknown> }).add);
  return { nftables: [{ metainfo: {} }, ...items] };
}

const cfg = (t: string) => loadConfigText(t).config;
const OLD = cfg('table: kt\nbase: { allow: ["80/tcp", "443/tcp"] }\ndoors:\n  ssh: { sequence: ["7000", "8000"], open: ["22/tcp"] }\n');
const NEW = cfg('table: kt\ndoors:\n  ssh: { sequence: ["7100", "8100"], open: ["22/tcp"] }\n');

test('health: a table installed from an edited config is not "damaged" for a daemon that still runs the old one', async () => {
  const nft = new ListingNft();
  // The daemon runs OLD (more rules); the admin installed NEW: that is not damage.
  nft.listing = listingOf(buildRuleset(NEW));
  assert.deepEqual(await new Firewall(nft, 'kt').health(), { state: 'ok', detail: '' });
});

test('health: flushed chain, lost sets or a missing chain are damage', async () => {
  const nft = new ListingNft();
  const fw = new Firewall(nft, 'kt');
  const full = listingOf(buildRuleset(OLD)) as { nftables: Record<string, unknown>[] };
  nft.listing = { nftables: full.nftables.filter((o) => !('rule' in o)) };
  assert.match((await fw.health()).detail, /every rule of chain input/);
  nft.listing = { nftables: full.nftables.filter((o) => !('set' in o && (o.set as { name: string }).name === 'allowed6')) };
  assert.match((await fw.health()).detail, /set allowed6/);
  nft.listing = { nftables: full.nftables.filter((o) => !('chain' in o && (o.chain as { name: string }).name === 'input')) };
  assert.equal((await fw.health()).state, 'damaged');
  nft.listing = { nftables: full.nftables.filter((o) => !('chain' in o)) };
  assert.equal((await fw.health()).state, 'foreign', 'without the marker chain the table is not ours');
  nft.listing = full;
  assert.equal((await fw.health()).state, 'ok');
});
