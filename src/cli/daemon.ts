/** `knockctl daemon`: the composition root of the running daemon (systemd runs exactly this). */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Clock } from '../core';
import type { Config } from '../config';
import { createLogger } from '../log';
import { NftProcess } from '../io/nft-runner';
import { NftLib } from '../io/nft-lib';
import { LazyNft } from '../io/nft-lazy';
import { PcapCapture } from '../io/pcap-capture';
import { LocalAddresses } from '../io/local-addresses';
import { FsStateStore } from '../io/state-store';
import { ExecHookRunner } from '../io/hook-runner';
import { netnsOf, readStatusFile, writeStatusFile } from '../io/status-file';
import { FsRuntimeFiles } from '../io/runtime-files';
import { lockStateDir } from '../io/state-lock';
import { Daemon, Firewall, ForeignTableError, notInstalled, type DaemonStats, type Runtime } from '../daemon';
import { configPath, readConfig } from './context';
import { withLines } from './check-config';
import type { MetricsServer } from './metrics';
import { spaIdentityLoader } from './identity';
import { enslavedInterfaces } from '../io/enslaved';

const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** The status file `knockctl status` reads (io/status-file.ts): pid, start time, counters. */
function writeStatus(dir: string, stats: DaemonStats, rt: Runtime): void {
  writeStatusFile(dir, { pid: process.pid, startedAt: new Date(stats.startedAt).toISOString(), updatedAt: new Date().toISOString(), table: rt.cfg.table, netns: netnsOf() ?? '', stats });
}

/** Tell systemd (Type=notify) that start-up is done; a no-op outside systemd. */
function notifyReady(): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore' });
  child.on('error', () => undefined);
}

/** The config as the daemon runs it: `-D` forces log_level debug, also across reloads. */
function loadFor(file: string, opts: { debug?: boolean }): ReturnType<typeof readConfig> {
  const loaded = readConfig(file);
  return opts.debug ? { ...loaded, config: { ...loaded.config, logLevel: 'debug' } } : loaded;
}

export async function daemonCommand(opts: { config?: string; debug?: boolean }): Promise<number> {
  const file = configPath(opts.config);
  const { config, warnings } = loadFor(file, opts);
  const log = createLogger({ level: config.logLevel });
  for (const w of warnings) log.warn({ event: 'config-warning', path: w.path, reason: w.message }, w.message);
  // As check-config: a state_dir that cannot be created is refused; one that cannot be written is a
  // warning (SPA fails closed, knocks work).
  const sd = new FsRuntimeFiles(file).stateDirProblem(config.stateDir);
  if (sd?.fatal) throw new ConfigError(withLines([{ path: 'state_dir', message: sd.message }], file), file);
  if (sd) log.warn({ event: 'config-warning', path: 'state_dir', reason: sd.message }, sd.message);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  // One daemon per state_dir (the replay cache and the one-time record are not shared safely): taken
  // before anything in it is read or written; the kernel drops it when this process ends.
  const lock = lockStateDir(config.stateDir);
  // In process through libnftables when it loads (a grant costs ~0.05 ms instead of a ~3 ms process),
  // loaded on the first grant so an idle daemon does not carry it; KNOCKCTL_NFT=process forces the
  // nft binary (debugging, and tests that break the binary on purpose). The health check's listings
  // go through the nft process (`probe`): a listing in process would block the event loop.
  const forced = process.env.KNOCKCTL_NFT === 'process';
  const nft = new LazyNft({
    open: () => (forced ? { reason: 'KNOCKCTL_NFT=process' } : NftLib.open()),
    fallback: () => new NftProcess(),
    onChosen: (transport, reason) => log.info({ event: 'nft-transport', nft: transport, reason }, `nft transport: ${transport === 'libnftables' ? 'libnftables in process' : `nft process (${reason ?? ''})`}`),
  });
  const probe = new NftProcess();
  const owner = await new Firewall(nft, config.table, undefined, probe).ownership();
  if (owner === 'absent') throw notInstalled(config.table);
  if (owner === 'foreign') throw new ForeignTableError(config.table);
  const local = new LocalAddresses();
  const daemon = new Daemon({
    capture: new PcapCapture({ interfaces: config.interfaces, ringPackets: config.limits.captureRing, onError: (e) => log.error({ event: 'internal-error', reason: `capture: ${e.message}` }, 'capture read failed; retrying in 1 s') }),
    nft, probe, clock: systemClock, log, isLocal: (a) => local.has(a),
    store: new FsStateStore(config.stateDir),
    hooks: new ExecHookRunner(),
    files: Object.assign(new FsRuntimeFiles(file), { spaIdentity: spaIdentityLoader(config.stateDir, log) }),
    onStats: (stats, rt) => status(stats, rt),
    enslaved: () => enslavedInterfaces(),
  });
  // A full or read-only state_dir must not stop the daemon: knocks still work, SPA fails closed.
  let statusError = '';
  function status(stats: DaemonStats, rt: Runtime): void {
    try {
      writeStatus(config.stateDir, stats, rt);
      statusError = '';
    } catch (e) {
      if ((e as Error).message !== statusError) log.warn({ event: 'internal-error', reason: `status file: ${(e as Error).message}` }, 'cannot write the status file');
      statusError = (e as Error).message;
    }
  }
  // A problem of the files the config names: the same ConfigError check-config reports, with the file.
  await daemon.start(config).catch((e: unknown) => {
    throw e instanceof ConfigError && !e.file ? new ConfigError(withLines(e.issues, file), file) : e;
  });
  status(daemon.stats, daemon.runtime);
  // Metrics are optional: an address that cannot be bound is logged and the firewall keeps working.
  // `metrics.listen` is read at start only; changing it needs a restart.
  let metrics: MetricsServer | undefined;
  if (config.metrics) {
    const snapshot = () => ({ stats: daemon.stats, ctx: { table: daemon.runtime.cfg.table, doors: daemon.runtime.cfg.doors.length } });
    // Loaded only when configured: node:http alone adds ~3 MB to an idle daemon.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startMetricsServer } = require('./metrics') as typeof import('./metrics');
    metrics = await startMetricsServer(config.metrics.listen, snapshot, log).catch((e: Error) => {
      log.error({ event: 'metrics', listen: config.metrics?.listen, reason: e.message }, 'cannot serve metrics');
      return undefined;
    });
  }
  notifyReady();
  return new Promise<number>((resolve) => {
    process.on('SIGHUP', () => {
      let next;
      try {
        next = loadFor(file, opts).config;
      } catch (e) {
        const issues = e instanceof ConfigError ? e.issues : [{ path: '', message: (e as Error).message }];
        log.error({ event: 'reload-failed', issues }, 'new config rejected; the previous config keeps running');
        return;
      }
      const needRestart = restartOnly(config, next);
      if (needRestart.length) log.warn({ event: 'config-warning', keys: needRestart }, `changed ${needRestart.join(', ')}: takes effect after a restart (systemctl restart knockctl)`);
      const level = next.logLevel;
      void daemon.reload(next).then((ok) => {
        if (ok) log.level = level;
      });
    });
    const stop = (signal: string): void => {
      log.info({ event: 'stop', signal }, `${signal}: stopping`);
      void Promise.all([daemon.stop(), metrics?.close()]).finally(() => {
        local.close();
        lock.release();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** The status of our table's daemon in this network namespace, if it runs. */
export function readDaemonStatus(stateDir: string, table: string): { pid: number; startedAt: string; updatedAt: string; stats: DaemonStats } | undefined {
  const s = readStatusFile(stateDir, table);
  return s ? { pid: s.pid, startedAt: s.startedAt, updatedAt: s.updatedAt, stats: s.stats as DaemonStats } : undefined;
}

/** Settings read once at start: a reload cannot apply them. */
function restartOnly(a: Config, b: Config): string[] {
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);
  const keys: [string, unknown, unknown][] = [
    ['interfaces', a.interfaces, b.interfaces], ['state_dir', a.stateDir, b.stateDir],
    ['metrics', a.metrics, b.metrics], ['limits.max_replay', a.limits.maxReplay, b.limits.maxReplay], ['limits.capture_ring', a.limits.captureRing, b.limits.captureRing],
  ];
  return keys.filter(([, x, y]) => !same(x, y)).map(([k]) => k);
}
