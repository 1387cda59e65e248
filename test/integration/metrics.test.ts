/**
 * The daemon in a namespace with `metrics.listen`: knocks, a grant and a bad SPA datagram show up in
 * the Prometheus counters scraped from inside the namespace, and in `status --json`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCKCTL, Lab, skipReason, sleep, waitForLine, type Host } from './support/lab';

const skip = skipReason();
const PORT = 9479;

interface Scrape { status: number; type: string; body: string }

/** GET http://127.0.0.1:PORT/PATH from inside the namespace. */
async function scrape(l: Lab, path = '/metrics'): Promise<Scrape> {
  const code = `require('http').get('http://127.0.0.1:${PORT}${path}',r=>{let b='';r.on('data',d=>b+=d);` +
    `r.on('end',()=>process.stdout.write(JSON.stringify({status:r.statusCode,type:r.headers['content-type'],body:b})))}).on('error',e=>{console.error(e.message);process.exit(2)})`;
  return JSON.parse(await l.sh(l.server.ns, process.execPath, '-e', code)) as Scrape;
}

function value(body: string, sample: string): number | undefined {
  const line = body.split('\n').find((x) => x.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** One TCP SYN (the connect is abandoned before any retransmit) or one UDP datagram. */
async function knock(l: Lab, from: Host, to: string, port: number, proto: 'tcp' | 'udp'): Promise<void> {
  const code = proto === 'tcp'
    ? `const s=require('net').connect({host:'${to}',port:${port}});s.on('error',()=>{});setTimeout(()=>process.exit(0),200)`
    : `const s=require('dgram').createSocket('udp4');s.send(Buffer.from('knock'),${port},'${to}',()=>s.close())`;
  await l.sh(from.ns, process.execPath, '-e', code);
}

test('metrics: the daemon serves its counters on metrics.listen, status --json shows them too', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knockctl-metrics-'));
  const l = new Lab(1);
  t.after(async () => {
    await l.down();
    rmSync(dir, { recursive: true, force: true });
  });
  await l.up();
  const a = l.clients[0]!;
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `
table: km
state_dir: ${join(dir, 'state')}
metrics: { listen: "127.0.0.1:${PORT}" }
doors:
  ssh: { sequence: ["7000:tcp", "8000:udp"], open: ["22/tcp"], timeout: 60 }
  ssh-spa:
    spa: { port: 62201, clients: { alice: { key: "base64:${randomBytes(32).toString('base64')}" } } }
    open: ["22/tcp"]
`);
  await l.service(22);
  const inst = await l.knockctl(l.server.ns, 'install-ruleset', '-c', cfg);
  assert.equal(inst.code, 0, inst.stderr);
  const notRunning = JSON.parse((await l.knockctl(l.server.ns, 'status', '-c', cfg, '--json')).stdout) as { daemon: { running: boolean } };
  assert.equal(notRunning.daemon.running, false);

  const daemon = l.start(l.server.ns, process.execPath, [KNOCKCTL, 'daemon', '-c', cfg]);
  await waitForLine(daemon, /"event":"metrics".*127\.0\.0\.1:9479/, 15000);

  const first = await scrape(l);
  assert.equal(first.status, 200);
  assert.equal(first.type, 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(value(first.body, 'knockctl_up'), 1);
  assert.equal(value(first.body, 'knockctl_grants_total'), 0);
  const started = value(first.body, 'knockctl_start_time_seconds') ?? 0;
  assert.ok(Math.abs(started - Date.now() / 1000) < 60, `start time ${started} is now-ish`);
  assert.equal((await scrape(l, '/')).status, 404);

  await knock(l, a, l.server.ip4, 7000, 'tcp');
  await knock(l, a, l.server.ip4, 8000, 'udp');
  await knock(l, a, l.server.ip4, 62201, 'udp'); // 5 bytes: not an SPA packet
  let body = '';
  for (let i = 0; i < 30; i++) {
    body = (await scrape(l)).body;
    if ((value(body, 'knockctl_grants_total') ?? 0) >= 1 && body.includes('knockctl_spa_rejected_total{')) break;
    await sleep(200);
  }
  assert.ok((value(body, 'knockctl_knocks_total') ?? 0) >= 2, body);
  assert.equal(value(body, 'knockctl_knock_successes_total'), 1, body);
  assert.equal(value(body, 'knockctl_grants_total'), 1, body);
  assert.equal(value(body, 'knockctl_nft_failures_total'), 0, body);
  assert.equal(value(body, 'knockctl_spa_accepted_total'), 0, body);
  const rejected = body.split('\n').filter((x) => x.startsWith('knockctl_spa_rejected_total{reason="'));
  assert.equal(rejected.length, 1, body);
  assert.match(rejected[0]!, / 1$/);
  assert.equal(await l.connects(a, l.server.ip4, 22), true, 'the knock opened the door');

  // The status file is written every 5 s: status --json catches up within that.
  let st: { daemon: { running: boolean; pid: number; since: string; counters: { grants: number; knock_successes: number; spa_rejected: Record<string, number> } } } | undefined;
  for (let i = 0; i < 14; i++) {
    const r = await l.knockctl(l.server.ns, 'status', '-c', cfg, '--json');
    assert.equal(r.code, 0, r.stderr);
    st = JSON.parse(r.stdout) as typeof st;
    if (st?.daemon.counters.grants === 1) break;
    await sleep(500);
  }
  assert.equal(st?.daemon.running, true);
  assert.equal(st?.daemon.pid, daemon.pid);
  assert.equal(st?.daemon.counters.grants, 1);
  assert.equal(st?.daemon.counters.knock_successes, 1);
  assert.equal(Object.values(st?.daemon.counters.spa_rejected ?? {}).reduce((x, y) => x + y, 0), 1);
  const text = await l.knockctl(l.server.ns, 'status', '-c', cfg);
  assert.match(text.stdout, new RegExp(`^daemon: running, pid ${daemon.pid}, since `));
  assert.doesNotMatch(text.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');

  daemon.kill('SIGTERM');
  await new Promise((res) => daemon.once('exit', res));
  assert.equal(daemon.exitCode, 0, 'SIGTERM stops the daemon cleanly, metrics server included');
});
