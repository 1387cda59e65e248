import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NftBatch, NftRunner } from '../../../src/core';
import { Firewall } from '../../../src/daemon';
import { buildRuleset } from '../../../src/nft';
import { loadConfigText } from '../../../src/config';

/** An nft that lists whatever the last applied batch created (enough for health checks). */
class ListingNft implements NftRunner {
  listing: unknown = { nftables: [] };
  readonly calls: string[] = [];
  async apply(): Promise<void> {}
  async check(): Promise<void> {}
  async list(args: readonly string[], _attempted: string, opts?: { terse?: boolean }): Promise<unknown> {
    this.calls.push(`${opts?.terse ? '-t ' : ''}list ${args.join(' ')}`);
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
  assert.equal((await fw.health()).state, 'ok', 'rules are only counted when asked');
  assert.match((await fw.health({ rules: true })).detail, /every rule of chain input/);
  nft.listing = { nftables: full.nftables.filter((o) => !('set' in o && (o.set as { name: string }).name === 'allowed6')) };
  assert.match((await fw.health()).detail, /set allowed6/);
  nft.listing = { nftables: full.nftables.filter((o) => !('chain' in o && (o.chain as { name: string }).name === 'input')) };
  assert.equal((await fw.health()).state, 'damaged');
  nft.listing = { nftables: full.nftables.filter((o) => !('chain' in o)) };
  assert.equal((await fw.health()).state, 'foreign', 'without the marker chain the table is not ours');
  nft.listing = full;
  assert.equal((await fw.health()).state, 'ok');
});

test('health never lists set elements, and lists rules only when asked; a probe runner takes the listings', async () => {
  const main = new ListingNft();
  const probe = new ListingNft();
  probe.listing = listingOf(buildRuleset(OLD));
  const fw = new Firewall(main, 'kt', undefined, probe);
  assert.deepEqual(await fw.health(), { state: 'ok', detail: '' });
  assert.deepEqual(probe.calls, ['-t list sets inet', '-t list chains inet']);
  probe.calls.length = 0;
  assert.deepEqual(await fw.health({ rules: true }), { state: 'ok', detail: '' });
  assert.deepEqual(probe.calls, ['-t list sets inet', '-t list chains inet', '-t list chain inet kt input']);
  assert.deepEqual(main.calls, [], 'the main runner (libnftables, in the event loop) lists nothing');
  // Another table's objects do not count as ours; with none of ours, the table itself is asked for.
  probe.listing = { nftables: [{ set: { table: 'other', name: 'allowed4' } }] };
  probe.calls.length = 0;
  assert.equal((await fw.health()).state, 'foreign', 'a table of our name with nothing of ours: not ours');
  assert.deepEqual(probe.calls.at(-1), '-t list table inet kt');
});
