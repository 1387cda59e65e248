/** One HTTP(S) GET for a short text answer (the client's public address, fwknop's -R). */
import { KnockctlError, UsageError } from '../core';

export async function fetchText(url: string, timeoutMs = 5000): Promise<string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${url}: not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`${url}: only http:// and https:// URLs`);
  try {
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow', headers: { accept: 'text/plain' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return (await res.text()).slice(0, 65536);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    throw new KnockctlError('ERR_FETCH', `cannot fetch ${url}: ${err.cause?.code ?? err.message}`);
  }
}
