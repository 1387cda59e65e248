/**
 * A private containerd + dockerd pair for the container test, optionally inside a network namespace,
 * so that `docker run --network host` means that namespace and never the host's.
 *
 * - Own socket, data root, exec root, pid file and containerd state under `dir`: it never meets a
 *   system Docker. `--iptables=false --ip6tables=false --bridge=none --ip-forward=false
 *   --ip-masq=false`: dockerd creates no bridge and writes no firewall rule or sysctl.
 * - Entered with `nsenter --net` (not `ip netns exec`): `ip netns exec` remounts /sys in a private
 *   mount namespace, which hides /sys/fs/cgroup from runc.
 * - With host networking the OCI spec has no network namespace, so a container inherits the netns
 *   of the containerd shim that starts it: containerd itself must run in the target namespace too.
 * - Stopped by PID only (ours), containers first, then dockerd, then containerd and its shims.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult } from '../integration/support/lab';

export const DOCKER = process.env.DOCKER ?? 'docker';

export interface RunOptions {
  timeout?: number;
  /** Extra environment for the client (e.g. DOCKER_BUILDKIT). */
  env?: NodeJS.ProcessEnv;
}

export class DockerDaemon {
  readonly socket: string;
  private containerd?: ChildProcess;
  private dockerd?: ChildProcess;

  /** `dir` is created and owned by this daemon; `netns` is a name under /run/netns, or the host's. */
  constructor(readonly dir: string, readonly netns?: string) {
    this.socket = join(dir, 'docker.sock');
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const d = this.dir;
    writeFileSync(join(d, 'containerd.toml'), [
      'version = 2', `root = "${d}/containerd-root"`, `state = "${d}/containerd-state"`,
      '[grpc]', `  address = "${d}/containerd.sock"`, '[ttrpc]', `  address = "${d}/containerd.sock.ttrpc"`,
      '[debug]', '  address = ""', '[metrics]', '  address = ""', '',
    ].join('\n'));
    this.containerd = this.spawn('containerd', ['--config', join(d, 'containerd.toml')], 'containerd.log');
    await this.until(() => existsSync(join(d, 'containerd.sock')), 20000, 'containerd socket', 'containerd.log', this.containerd);
    this.dockerd = this.spawn('dockerd', [
      '--containerd', join(d, 'containerd.sock'),
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-forward=false', '--ip-masq=false',
      '--data-root', join(d, 'data'), '--exec-root', join(d, 'exec'), '--pidfile', join(d, 'dockerd.pid'),
      '-H', this.host,
    ], 'dockerd.log');
    await this.until(async () => (await this.docker(['version'], { timeout: 5000 })).code === 0, 30000, 'dockerd API', 'dockerd.log', this.dockerd);
  }

  private spawn(cmd: string, args: string[], log: string): ChildProcess {
    const argv = this.netns ? ['nsenter', `--net=/run/netns/${this.netns}`, cmd, ...args] : [cmd, ...args];
    const out = join(this.dir, log);
    writeFileSync(out, '');
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (b: Buffer): void => writeFileSync(out, b, { flag: 'a' });
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    return child;
  }

  private async until(ok: () => boolean | Promise<boolean>, ms: number, what: string, log: string, child: ChildProcess): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await ok()) return;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: the daemon exited (${child.exitCode ?? child.signalCode}); ${log}:\n${this.log(log)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${what} not up within ${ms} ms; ${log}:\n${this.log(log)}`);
  }

  /** The last lines of one of the daemons' logs, for failure messages. */
  log(name: string, lines = 30): string {
    try {
      return readFileSync(join(this.dir, name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** The docker client against this daemon; never throws on exit status. */
  docker(args: string[], opts: RunOptions = {}): Promise<ExecResult> {
    return new Promise((res) => {
      execFile(DOCKER, ['-H', this.host, ...args], { timeout: opts.timeout ?? 60000, maxBuffer: 64 << 20, env: { ...process.env, ...opts.env } },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          res({ code, stdout: String(stdout), stderr: String(stderr) + (err && code === 1 && !stderr ? String(err.message) : '') });
        });
    });
  }

  /** Like `docker` but throws with the client's stderr on failure. */
  async must(args: string[], opts: RunOptions = {}): Promise<string> {
    const r = await this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** A long-running client process (e.g. `docker logs -f`), killed by the caller or by `stop()`. */
  follow(args: string[]): ChildProcess {
    const child = spawn(DOCKER, ['-H', this.host, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.followers.push(child);
    return child;
  }

  private readonly followers: ChildProcess[] = [];

  /** Remove our containers, stop dockerd, then containerd and any shim it left. Safe to call twice. */
  async stop(): Promise<void> {
    for (const f of this.followers.splice(0)) if (f.exitCode === null) f.kill('SIGKILL');
    if (this.dockerd && this.dockerd.exitCode === null) {
      const ids = (await this.docker(['ps', '-aq'], { timeout: 10000 })).stdout.split('\n').filter(Boolean);
      if (ids.length) await this.docker(['rm', '-f', ...ids], { timeout: 30000 });
    }
    await terminate(this.dockerd, 20000);
    await terminate(this.containerd, 10000);
    // Shims daemonize away from containerd; ours name our containerd socket on their command line.
    for (const pid of shimsOf(join(this.dir, 'containerd.sock'))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.dockerd = undefined;
    this.containerd = undefined;
    // dockerd bind-mounts its network namespace at exec/netns/default even with --bridge=none; left
    // mounted, it would keep a deleted namespace alive.
    await unmountUnder(join(this.dir, 'exec'));
  }

  /** Stop, unmount anything left under `dir` (lazily), delete `dir`. */
  async destroy(): Promise<void> {
    await this.stop();
    await unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Lazily unmount every mount point below `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir + '/')).sort().reverse();
  for (const m of mounts) await new Promise((r) => execFile('umount', ['-l', m], () => r(undefined)));
}

function shimsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.includes('containerd-shim') && argv.includes(socket)) pids.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return pids;
}

async function terminate(child: ChildProcess | undefined, ms: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = new Promise((r) => setTimeout(() => r('timeout'), ms));
  if ((await Promise.race([exited, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
