/**
 * One failing element must not fail the rest of a batch. nft applies a batch as one transaction: one
 * element it refuses fails every element with it. So a batch that fails for an element's sake is
 * split in halves and each half applied again, down to single items: k bad items among n cost about
 * 2·k·log2(n) extra nft calls, and every good item lands.
 *
 * Element's sake: a full set (ENFILE, "Too many open files in system"), a set that does not exist
 * while the table does (a door added to the config but not installed yet), or a grant our builders
 * refuse. Anything else (table missing, no permission, no nft, nft busy or killed) is about the whole
 * batch: it is thrown, for the caller's retry with backoff.
 */
import { NftError } from '../core';

export interface ItemFailure<T> {
  readonly item: T;
  readonly error: Error;
}

/** nft's words for a set that cannot take another element. */
export function isSetFull(e: unknown): boolean {
  const text = e instanceof NftError ? `${e.stderr} ${e.message}` : e instanceof Error ? e.message : '';
  return /Too many open files in system|ENFILE/.test(text);
}

/** Whether `e` is about some element of the batch rather than the batch as a whole. */
export function isElementError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (!(e instanceof NftError)) return true;
  return isSetFull(e) || e.code === 'ERR_NFT_NOT_FOUND';
}

/** Apply `items` with `apply`, isolating the ones that fail. Resolves with those, in input order. */
export async function applyIsolated<T>(items: readonly T[], apply: (part: readonly T[]) => Promise<void>): Promise<ItemFailure<T>[]> {
  if (items.length === 0) return [];
  try {
    await apply(items);
    return [];
  } catch (e) {
    if (!isElementError(e)) throw e;
    if (items.length === 1) return [{ item: items[0] as T, error: e as Error }];
  }
  const mid = Math.ceil(items.length / 2);
  const left = await applyIsolated(items.slice(0, mid), apply);
  const right = await applyIsolated(items.slice(mid), apply);
  return [...left, ...right];
}
