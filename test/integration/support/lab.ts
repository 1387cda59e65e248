/**
 * Throwaway network namespaces for integration tests: a server and one or more clients on a bridge-less
 * veth star (one veth pair per client), IPv4 10.N.x.0/24 and IPv6 fd00:N:x::/64. Names are unique per
 * process; cleanup is registered before anything is created and runs also on failure. Traffic only
 * goes to addresses on links created here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';

const pexec = promisify(execFile);
let counter = 0;

/** Why integration tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'integration tests need root (ip netns, nftables): run sudo make test';
  return undefined;
}

export const REPO = resolve(__dirname, '../../../..');
/**
 * knockctl as installed: the launcher of the bundle `make build` makes (src/cli/launch.ts), so the
 * integration tests run the program that ships. Run it with NODE_FLAGS, the flags the installed
 * wrapper uses (the code cache is made under them; without them it is ignored and the bundle compiled).
 */
export const KNOCKCTL = resolve(REPO, 'dist/src/cli/launch.js');
/** The node flags of `make install`'s wrapper and the Containerfile (test/unit/docs/node-flags.test.ts). */
export const NODE_FLAGS = ['--max-semi-space-size=2'];

export interface Host {
  readonly ns: string;
  readonly ip4: string;
  readonly ip6: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Lab {
  readonly id: string;
  readonly server: Host;
  readonly clients: Host[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly netns: string[] = [];
  private readonly net: number;

  /** Builds names only; call `up()` to create. Register `lab.down()` with `t.after` before `up()`. */
  constructor(clients = 1) {
    counter += 1;
    this.net = ((process.pid * 7 + counter * 13) % 200) + 20;
    this.id = `nk${process.pid % 100000}x${counter}`;
    this.server = { ns: `${this.id}s`, ip4: `10.${this.net}.0.1`, ip6: `fd00:${this.net}::1` };
    for (let i = 1; i <= clients; i++) {
      this.clients.push({ ns: `${this.id}c${i}`, ip4: `10.${this.net}.${i}.2`, ip6: `fd00:${this.net}:${i}::2` });
    }
  }

  async up(): Promise<void> {
    await this.ip('netns', 'add', this.server.ns);
    this.netns.push(this.server.ns);
    await this.sh(this.server.ns, 'ip', 'link', 'set', 'lo', 'up');
    for (const [i, c] of this.clients.entries()) {
      const n = i + 1;
      await this.ip('netns', 'add', c.ns);
      this.netns.push(c.ns);
      const sv = `${this.id}v${n}`;
      const cv = `${this.id}w${n}`;
      await this.ip('link', 'add', sv, 'netns', this.server.ns, 'type', 'veth', 'peer', 'name', cv, 'netns', c.ns);
      await this.sh(c.ns, 'ip', 'link', 'set', 'lo', 'up');
      // Server side: one /24 and /64 per client link, so each client is on its own link.
      await this.sh(this.server.ns, 'ip', 'addr', 'add', `10.${this.net}.${n}.1/24`, 'dev', sv);
      await this.sh(this.server.ns, 'ip', '-6', 'addr', 'add', `fd00:${this.net}:${n}::1/64`, 'dev', sv, 'nodad');
      await this.sh(c.ns, 'ip', 'addr', 'add', `${c.ip4}/24`, 'dev', cv);
      await this.sh(c.ns, 'ip', '-6', 'addr', 'add', `${c.ip6}/64`, 'dev', cv, 'nodad');
      await this.sh(this.server.ns, 'ip', 'link', 'set', sv, 'up');
      await this.sh(c.ns, 'ip', 'link', 'set', cv, 'up');
      // The server's "main" addresses live on lo so every client reaches the same ones.
      await this.sh(c.ns, 'ip', 'route', 'add', `10.${this.net}.0.0/24`, 'via', `10.${this.net}.${n}.1`);
      await this.sh(c.ns, 'ip', '-6', 'route', 'add', `fd00:${this.net}::/64`, 'via', `fd00:${this.net}:${n}::1`);
    }
    await this.sh(this.server.ns, 'ip', 'addr', 'add', `${this.server.ip4}/32`, 'dev', 'lo');
    await this.sh(this.server.ns, 'ip', '-6', 'addr', 'add', `${this.server.ip6}/128`, 'dev', 'lo');
  }

  /** Kill children, delete namespaces. Safe to call twice and after a partial `up()`. */
  async down(): Promise<void> {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.netns.splice(0).reverse()) await pexec('ip', ['netns', 'del', ns]).catch(() => undefined);
  }

  private async ip(...args: string[]): Promise<void> {
    await pexec('ip', args);
  }

  /** Run a command in a namespace; throws with its stderr on failure. */
  async sh(ns: string, cmd: string, ...args: string[]): Promise<string> {
    const r = await this.exec(ns, cmd, ...args);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Run a command in a namespace and return its exit code and output (never throws on exit status). */
  exec(ns: string, cmd: string, ...args: string[]): Promise<ExecResult> {
    return new Promise((res) => {
      execFile('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 30000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        res({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });
  }

  /** `knockctl ARGS` inside a namespace. */
  knockctl(ns: string, ...args: string[]): Promise<ExecResult> {
    return this.exec(ns, process.execPath, ...NODE_FLAGS, KNOCKCTL, ...args);
  }

  /** Start a long-running process in a namespace; it is killed by `down()`. */
  start(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.children.push(child);
    return child;
  }

  /**
   * A TCP service on `port` in the server namespace (or `ns`) that greets every connection. Resolves when
   * listening. A client that resets the connection before the greeting is written (the bench's probe
   * closes at once) must not kill it: without the socket's error handler, Node throws EPIPE/ECONNRESET
   * out of the process, the port then answers every SYN with a RST, and every later probe fails.
   */
  async service(port: number, ns = this.server.ns): Promise<ChildProcess> {
    const code = `require('net').createServer(s=>{s.on('error',()=>{});s.end('SSH-2.0-standin\\r\\n')}).listen(${port},'::',()=>console.log('ready'))`;
    const child = this.start(ns, process.execPath, ['-e', code]);
    await waitForLine(child, /ready/, 5000);
    return child;
  }

  /** Try a TCP connect from a client namespace; true when the greeting arrives within `ms`. */
  async connects(from: Host, addr: string, port: number, ms = 800): Promise<boolean> {
    const code = `const s=require('net').connect({host:${JSON.stringify(addr)},port:${port}});` +
      `const t=setTimeout(()=>{process.exit(3)},${ms});s.on('data',d=>{if(String(d).startsWith('SSH-2.0'))process.exit(0)});s.on('error',()=>process.exit(2));`;
    const r = await this.exec(from.ns, process.execPath, '-e', code);
    return r.code === 0;
  }

  /** `nft -j list ...` in a namespace, parsed. */
  async nftJson(ns: string, ...args: string[]): Promise<unknown> {
    return JSON.parse(await this.sh(ns, 'nft', '-j', 'list', ...args)) as unknown;
  }
}

/** Resolve when a line of the child's stdout or stderr matches, reject after `ms`. */
export function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${re}; output so far:\n${buf}`)), ms);
    const on = (d: Buffer): void => {
      buf += String(d);
      for (const line of buf.split('\n')) {
        if (re.test(line)) {
          clearTimeout(timer);
          child.stdout?.off('data', on);
          child.stderr?.off('data', on);
          res(line);
          return;
        }
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`process exited (${code}) before ${re}; output:\n${buf}`));
    });
  });
}

/** Sleep, for tests that wait on kernel timeouts of a few seconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A Lab that is up, and torn down when the test ends (also on failure). */
export async function upLab(t: { after(fn: () => unknown): void }, clients = 1): Promise<Lab> {
  const l = new Lab(clients);
  t.after(() => l.down());
  await l.up();
  return l;
}

/** knockd's own client (/usr/bin/knock), 20 ms between knocks. */
export function knockdKnock(l: Lab, from: Host, addr: string, ...ports: string[]): Promise<ExecResult> {
  return l.exec(from.ns, '/usr/bin/knock', '-d', '20', addr, ...ports);
}
