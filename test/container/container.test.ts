/**
 * The container image end to end (`make container-test`, root): build the image with a private
 * dockerd, load it into a second private dockerd that runs inside a Lab server namespace (so
 * `--network host` is that namespace), run the install-ruleset one-shot and the daemon with only
 * NET_ADMIN + NET_RAW on a read-only root, knock from a client namespace with knockd's `knock`,
 * connect, stop the container, and watch the kernel expire the grant on time. The host's own
 * ruleset must be byte-identical before and after.
 *
 * Skips with the reason when no runtime can be started here; NFTKNOCK_REQUIRE_CONTAINER_TEST=1
 * turns every skip into a failure (for CI, so it never passes silently).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Lab, REPO, skipReason, sleep } from '../integration/support/lab';
import { RunningDaemon, scratch, writeConfig } from '../integration/support/daemon';
import { DOCKER, DockerDaemon } from './docker-daemon';

const CACHE = process.env.NFTKNOCK_CONTAINER_CACHE ?? '/var/tmp/nftknock-container';
/** BASE for the image; default: test-only bases made by build-base.sh (debootstrap + this machine's node). */
const USER_BASE = process.env.NFTKNOCK_IMAGE_BASE;
const TEST_BASE = 'nftknock-base:bookworm-node20';
const IMAGE = 'nftknock:container-test';
const GRANT_S = 8;
/** Exactly the hardening of deploy/compose.yaml (checked by the first test). */
const HARDENING = ['--network', 'host', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW',
  '--security-opt', 'no-new-privileges:true', '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/run'];

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

function runtimeSkip(): string | undefined {
  const root = skipReason();
  if (root) return root;
  const missing = ['containerd', 'dockerd', DOCKER, 'nsenter', 'nft', ...(USER_BASE ? [] : ['debootstrap'])].filter((c) => !onPath(c));
  if (!existsSync('/usr/bin/knock')) missing.push('/usr/bin/knock (knockd)');
  if (missing.length) return `container runtime not available, missing: ${missing.join(', ')} (apt-get install docker.io debootstrap knockd)`;
  return undefined;
}

const required = process.env.NFTKNOCK_REQUIRE_CONTAINER_TEST === '1';
const reason = runtimeSkip();
const skip = reason && !required ? reason : undefined;

function hostRuleset(): string {
  return execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, ms: number): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: ms, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, out: String(stdout) + String(stderr) });
    });
  });
}

test('deploy/compose.yaml: host network, only NET_ADMIN + NET_RAW, read-only, not privileged, a one-shot install', () => {
  const doc = parse(readFileSync(join(REPO, 'deploy/compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
  const { knockctl, 'install-ruleset': install } = doc.services;
  assert.ok(knockctl && install, 'services knockctl and install-ruleset');
  for (const [name, s] of [['knockctl', knockctl], ['install-ruleset', install]] as const) {
    assert.equal(s.network_mode, 'host', `${name}: network_mode`);
    assert.deepEqual(s.cap_drop, ['ALL'], `${name}: cap_drop`);
    assert.deepEqual(s.cap_add, ['NET_ADMIN', 'NET_RAW'], `${name}: cap_add`);
    assert.equal(s.read_only, true, `${name}: read_only`);
    assert.equal(s.privileged, undefined, `${name}: never privileged`);
    assert.deepEqual(s.security_opt, ['no-new-privileges:true'], `${name}: no-new-privileges`);
    assert.ok((s.volumes as string[]).some((v) => v.endsWith(':/etc/knockctl:ro')), `${name}: config read-only`);
    assert.ok((s.volumes as string[]).some((v) => v.endsWith(':/var/lib/knockctl')), `${name}: state volume`);
  }
  assert.deepEqual(knockctl.command, ['daemon', '-c', '/etc/knockctl/config.yaml']);
  assert.deepEqual(install.command, ['install-ruleset', '-c', '/etc/knockctl/config.yaml']);
  assert.equal(knockctl.restart, 'unless-stopped');
  assert.deepEqual(install.profiles, ['setup'], 'the one-shot only runs on request');
});

/** Build the image with a dockerd in the host's network namespace (the build needs apt and npm). */
async function buildImage(t: TestContext, cleanup: (() => Promise<unknown>)[]): Promise<string> {
  // A persistent data root keeps the layer cache between runs (rm -rf the cache dir to start afresh).
  const builder = new DockerDaemon(join(CACHE, 'builder'));
  cleanup.push(() => builder.stop());
  await builder.start();
  const t0 = Date.now();
  let base = USER_BASE;
  let buildBase = USER_BASE;
  if (!base) {
    const r = await sh(join(REPO, 'test/container/build-base.sh'), [TEST_BASE], { DOCKER_HOST: builder.host, DOCKER }, 300000);
    assert.equal(r.code, 0, `build-base.sh failed:\n${r.out}`);
    base = TEST_BASE;
    buildBase = `${TEST_BASE}-build`;
  }
  const b = await builder.docker(['build', '--network', 'host', '--build-arg', `BASE=${base}`, '--build-arg', `BUILD_BASE=${buildBase}`,
    '-t', IMAGE, '-f', join(REPO, 'Containerfile'), REPO], { timeout: 600000, env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(b.code, 0, `docker build failed:\n${b.stdout.slice(-4000)}\n${b.stderr.slice(-4000)}\ndockerd:\n${builder.log('dockerd.log')}`);
  t.diagnostic(`image built in ${Math.round((Date.now() - t0) / 1000)} s (bases: ${base}, ${buildBase})`);
  const tar = join(CACHE, 'nftknock-container-test.tar');
  await builder.must(['save', '-o', tar, IMAGE], { timeout: 120000 });
  await builder.stop();
  return tar;
}

test('the image in a namespace: install-ruleset one-shot, daemon with NET_ADMIN + NET_RAW only, knock opens, grant outlives the container', { skip, timeout: 900000 }, async (t) => {
  assert.equal(reason, undefined, `NFTKNOCK_REQUIRE_CONTAINER_TEST=1 but: ${reason}`);
  mkdirSync(CACHE, { recursive: true });
  const before = hostRuleset();
  // Cleanup in reverse order of set-up, then the host check, after everything of ours is gone.
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    await imageEndToEnd(t, cleanup, before);
  } finally {
    for (const f of cleanup.reverse()) await f().catch((e: unknown) => t.diagnostic(`cleanup: ${String(e)}`));
  }
  assert.equal(hostRuleset(), before, 'the host\'s own ruleset is byte-identical after the test');
});

async function imageEndToEnd(t: TestContext, cleanup: (() => Promise<unknown>)[], before: string): Promise<void> {
  const tar = await buildImage(t, cleanup);
  const lab = new Lab(1);
  cleanup.push(() => lab.down());
  await lab.up();
  const a = lab.clients[0]!;
  await lab.service(22);

  const rt = new DockerDaemon(join(CACHE, `run-${lab.id}`), lab.server.ns);
  cleanup.push(() => rt.destroy());
  await rt.start();
  await rt.must(['load', '-i', tar], { timeout: 120000 });
  rmSync(tar, { force: true });

  const dir = scratch();
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'state'));
  writeConfig(join(dir, 'etc'), `# the config a self-hoster would mount at /etc/knockctl/config.yaml
doors:
  ssh:
    sequence: ["7000:tcp", "8000:tcp", "9000:udp"]
    seq_timeout: 5
    open: ["22/tcp"]
    timeout: ${GRANT_S}
`);
  const mounts = ['-v', `${join(dir, 'etc')}:/etc/knockctl:ro`, '-v', `${join(dir, 'state')}:/var/lib/knockctl`];

  // The one-shot goes through deploy/compose.yaml itself when docker-compose is installed.
  let install: { code: number; out: string };
  if (onPath('docker-compose')) {
    install = await sh('docker-compose', ['-p', lab.id, '-f', join(REPO, 'deploy/compose.yaml'), 'run', '--rm', 'install-ruleset'],
      { DOCKER_HOST: rt.host, NFTKNOCK_IMAGE: IMAGE, NFTKNOCK_CONFIG_DIR: join(dir, 'etc') }, 120000);
    t.diagnostic('install-ruleset one-shot: docker-compose -f deploy/compose.yaml run --rm install-ruleset');
  } else {
    const r = await rt.docker(['run', '--rm', ...HARDENING, ...mounts, IMAGE, 'install-ruleset', '-c', '/etc/knockctl/config.yaml'], { timeout: 60000 });
    install = { code: r.code, out: r.stdout + r.stderr };
    t.diagnostic('install-ruleset one-shot: docker run (docker-compose not installed)');
  }
  assert.equal(install.code, 0, `install-ruleset in the container failed: ${install.out}`);
  assert.match(await lab.sh(lab.server.ns, 'nft', 'list', 'table', 'inet', 'knockctl'), /set in4_ssh/, 'our table is in the container\'s host namespace');
  assert.equal(hostRuleset(), before, 'and not in the host\'s');

  const name = `${lab.id}-knockctl`;
  await rt.must(['run', '-d', '--name', name, ...HARDENING, ...mounts, IMAGE], { timeout: 60000 });
  const d = new RunningDaemon(rt.follow(['logs', '-f', name]));
  await d.event('start', undefined, 20000);

  const caps = await rt.must(['exec', name, 'grep', '^CapEff', '/proc/1/status']);
  assert.equal(caps.trim().split(/\s+/)[1], '0000000000003000', 'effective capabilities are exactly NET_ADMIN (12) and NET_RAW (13)');
  const touch = await rt.docker(['exec', name, 'touch', '/opt/nftknock/x']);
  assert.notEqual(touch.code, 0, 'the root filesystem is read-only');

  assert.equal(await lab.connects(a, lab.server.ip4, 22), false, 'closed before knocking');
  await lab.exec(a.ns, '/usr/bin/knock', '-d', '20', lab.server.ip4, '7000', '8000', '9000:udp');
  await d.event('grant', (x) => x.src === a.ip4, 10000);
  const granted = Date.now();
  assert.equal(await lab.connects(a, lab.server.ip4, 22), true, 'the knock opened the service');
  const set = await lab.sh(lab.server.ns, 'nft', 'list', 'set', 'inet', 'knockctl', 'in4_ssh');
  assert.match(set, new RegExp(`${a.ip4.replace(/\./g, '\\.')} \\. tcp \\. 22 timeout ${GRANT_S}s expires`), 'the grant is visible from the host with nft list set');

  await rt.must(['stop', '-t', '10', name], { timeout: 30000 });
  assert.equal((await rt.must(['inspect', '-f', '{{.State.ExitCode}}', name])).trim(), '0', 'SIGTERM: the daemon exits cleanly');
  assert.equal(await lab.connects(a, lab.server.ip4, 22), true, 'the grant outlives the container');
  const left = GRANT_S * 1000 - (Date.now() - granted);
  assert.ok(left > 500, `the container stopped with ${left} ms of the grant left`);
  await sleep(left + 1200);
  assert.equal(await lab.connects(a, lab.server.ip4, 22), false, 'the kernel closed it on time with no container running');
  assert.doesNotMatch(await lab.sh(lab.server.ns, 'nft', 'list', 'set', 'inet', 'knockctl', 'in4_ssh'), /expires/, 'the set is empty');
}
