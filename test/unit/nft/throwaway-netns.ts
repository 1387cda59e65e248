/** For unit tests that let the real nft check a built batch: a private network namespace, removed after the test. */
import type { TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';

/** Why such a test must skip here, or false when it can run (root, nft installed). */
export function nftCheckSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for nft -c in a throwaway namespace';
  try {
    execFileSync('nft', ['--version']);
    return false;
  } catch {
    return 'nft not installed';
  }
}

/** A new namespace named `prefix` + pid, deleted when `t` ends (cleanup registered before it exists). */
export function throwawayNetns(t: TestContext, prefix: string): string {
  const ns = `${prefix}${process.pid}`;
  t.after(() => {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* never created */ }
  });
  execFileSync('ip', ['netns', 'add', ns]);
  return ns;
}
