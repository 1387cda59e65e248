/**
 * Prometheus text metrics (exposition format 0.0.4): `renderMetrics` is pure; `startMetricsServer`
 * serves it with node:http on the loopback address or unix socket of `metrics.listen`.
 */
import { createServer, type Server } from 'node:http';
import { lstatSync, unlinkSync } from 'node:fs';
import type { DaemonStats } from '../daemon';
import type { AppLogger } from '../log';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What the metrics describe besides the counters. */
export interface MetricsContext {
  readonly table: string;
  readonly doors: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  /** One sample without labels, or one per label value (the label is `label`). */
  readonly value: number | Readonly<Record<string, number>>;
  readonly label?: string;
}

/** Label values: backslash, double quote and newline are escaped (exposition format 0.0.4). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function families(s: DaemonStats, ctx: MetricsContext): Family[] {
  return [
    { name: 'knockctl_up', help: 'Whether the daemon is running (always 1 when scraped from it).', type: 'gauge', value: 1 },
    { name: 'knockctl_start_time_seconds', help: 'When the daemon started, in seconds since the Unix epoch.', type: 'gauge', value: s.startedAt / 1000 },
    { name: 'knockctl_doors', help: 'Doors in the running config.', type: 'gauge', value: ctx.doors },
    { name: 'knockctl_packets_total', help: 'Frames captured.', type: 'counter', value: s.packets },
    { name: 'knockctl_duplicate_frames_total', help: 'Frames dropped as a second capture of one packet (a bridge and its port, a VLAN and its parent).', type: 'counter', value: s.duplicates },
    { name: 'knockctl_capture_dropped_total', help: 'Packets the kernel dropped because the capture ring was full (limits.capture_ring).', type: 'counter', value: s.captureDropped },
    { name: 'knockctl_knocks_total', help: 'Knock packets seen (decoded TCP/UDP packets to a knock port).', type: 'counter', value: s.knocks },
    { name: 'knockctl_knock_successes_total', help: 'Knock sequences completed.', type: 'counter', value: s.knockSuccesses },
    { name: 'knockctl_knock_resets_total', help: 'Partial knock sequences abandoned, by reason.', type: 'counter', value: s.knockResets, label: 'reason' },
    { name: 'knockctl_evictions_total', help: 'Partial knock sequences evicted because the source table was full.', type: 'counter', value: s.evictions },
    { name: 'knockctl_grants_total', help: 'Grants applied to the kernel sets.', type: 'counter', value: s.grants },
    { name: 'knockctl_revokes_total', help: 'Revokes applied to the kernel sets.', type: 'counter', value: s.revokes },
    { name: 'knockctl_spa_accepted_total', help: 'SPA packets accepted.', type: 'counter', value: s.spaAccepted },
    { name: 'knockctl_spa_rejected_total', help: 'SPA packets rejected, by reason.', type: 'counter', value: s.spaRejected, label: 'reason' },
    { name: 'knockctl_decode_errors_total', help: 'Captured frames that were not a usable packet, by reason.', type: 'counter', value: s.decodeErrors, label: 'reason' },
    { name: 'knockctl_nft_failures_total', help: 'nft batches that failed after their retry.', type: 'counter', value: s.nftFailures },
    { name: 'knockctl_set_full_total', help: 'Grants and revokes refused because a set of the door was full (its set_size reached), by door.', type: 'counter', value: s.setFull ?? {}, label: 'door' },
    { name: 'knockctl_hook_failures_total', help: 'Door hooks (command, start_command, stop_command) that failed.', type: 'counter', value: s.hookFailures },
    { name: 'knockctl_internal_errors_total', help: 'Packets dropped by the last-resort error handler.', type: 'counter', value: s.internalErrors },
  ];
}

/**
 * The exposition text. Labelled families list only the reasons seen so far (a reason appears at its
 * first occurrence; `rate()` handles that), sorted so the output is stable.
 */
export function renderMetrics(stats: DaemonStats, ctx: MetricsContext): string {
  const out: string[] = [];
  for (const f of families(stats, ctx)) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    if (typeof f.value === 'number') {
      out.push(`${f.name} ${f.value}`);
      continue;
    }
    for (const k of Object.keys(f.value).sort()) out.push(`${f.name}{${f.label}="${escapeLabel(k)}"} ${f.value[k]}`);
  }
  out.push(`# HELP knockctl_info The ruleset table the daemon manages.`, `# TYPE knockctl_info gauge`, `knockctl_info{table="${escapeLabel(ctx.table)}"} 1`);
  return `${out.join('\n')}\n`;
}

/** Where to listen: a TCP port on a loopback address, or a unix socket path. */
export type ListenTarget = { readonly host: string; readonly port: number } | { readonly path: string };

/**
 * Parse `metrics.listen` (the schema already restricts its shape). `localhost` means 127.0.0.1, so
 * the bound address does not depend on resolver order.
 */
export function parseListen(s: string): ListenTarget {
  if (s.startsWith('unix:')) return { path: s.slice(5) };
  const m = /^(?:\[(.+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`metrics.listen: "${s}" is not HOST:PORT with PORT 1-65535 or unix:/path`);
  const host = m[1] ?? (m[2] as string);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

export interface MetricsServer {
  /** The address actually bound (`127.0.0.1:9479`, `[::1]:9479` or `unix:/path`). */
  readonly address: string;
  close(): Promise<void>;
}

/** A stale socket left by a killed daemon would make listen fail with EADDRINUSE. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}

/**
 * Serve `GET /metrics` (HEAD too); any other path is 404, any other method 405. `snapshot` is called
 * per scrape. Resolves once listening; rejects if the address cannot be bound.
 */
export function startMetricsServer(listen: string, snapshot: () => { stats: DaemonStats; ctx: MetricsContext }, log: AppLogger): Promise<MetricsServer> {
  const target = parseListen(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const { stats, ctx } = snapshot();
    const body = renderMetrics(stats, ctx);
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  // A scraper that hangs must not hold sockets forever.
  server.requestTimeout = 10000;
  server.headersTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = (): void => {
      server.off('error', reject);
      server.on('error', (e) => log.error({ event: 'metrics', reason: e.message }, 'metrics server error'));
      const address = 'path' in target ? `unix:${target.path}` : target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
      log.info({ event: 'metrics', listen: address }, address.startsWith('unix:') ? `metrics: GET /metrics on ${address}` : `metrics at http://${address}/metrics`);
      resolve({
        address,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    };
    if ('path' in target) {
      removeStaleSocket(target.path);
      server.listen(target.path, ready);
    } else {
      server.listen(target.port, target.host, ready);
    }
  });
}
