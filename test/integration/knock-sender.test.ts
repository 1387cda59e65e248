/**
 * Root only: the knock sender really puts one SYN (TCP) or one datagram (UDP) on the wire per knock,
 * over IPv4 and IPv6, to a server that drops everything and listens nowhere. Counted by nft rules
 * in the server's namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const CLIENT_JS = resolve(__dirname, 'knock-client.js');
const isRoot = process.getuid?.() === 0;
const hasTools = ((): boolean => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = !isRoot ? 'needs root (network namespaces, nft)' : !hasTools ? 'needs nft and ip (iproute2)' : false;

let counter = 0;
function sh(...args: string[]): string {
  return execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const V4 = [{ port: 7001, proto: 'tcp' }, { port: 7002, proto: 'udp' }, { port: 7003, proto: 'tcp' }, { port: 7003, proto: 'tcp' }];
const V6 = [{ port: 7101, proto: 'tcp' }, { port: 7102, proto: 'udp' }, { port: 7103, proto: 'tcp' }];

function serverRuleset(): string {
  const rules: string[] = [];
  for (const [fam, steps] of [['ipv4', V4], ['ipv6', V6]] as const) {
    for (const p of new Set(steps.map((s) => `${s.proto}:${s.port}`))) {
      const [proto, port] = p.split(':');
      const syn = proto === 'tcp' ? ' tcp flags & (fin|syn|rst|ack) == syn' : '';
      rules.push(`meta nfproto ${fam} ${proto} dport ${port}${syn} counter comment "${fam}-${proto}-${port}"`);
    }
  }
  return `table inet knocktest {
  chain input {
    type filter hook input priority 0; policy drop;
    meta l4proto ipv6-icmp accept
    ${rules.join('\n    ')}
    tcp dport 7000-7200 tcp flags & syn != syn counter comment "not-syn"
  }
}`;
}

function counters(ns: string): Record<string, number> {
  const out = JSON.parse(sh('ip', 'netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'knocktest')) as { nftables: Record<string, { comment?: string; expr?: Record<string, { packets?: number }>[] }>[] };
  const res: Record<string, number> = {};
  for (const item of out.nftables) {
    const r = item.rule;
    if (!r?.comment) continue;
    const c = r.expr?.find((e) => e.counter)?.counter;
    res[r.comment] = c?.packets ?? -1;
  }
  return res;
}

test('knocks arrive as one SYN or one datagram each, IPv4 and IPv6, at a dropping server', { skip }, async (t) => {
  const id = `${process.pid}-${counter++}`;
  const cns = `nk-ksc-${id}`;
  const sns = `nk-kss-${id}`;
  const vc = `kc${process.pid % 100000}${counter}`;
  const vs = `ks${process.pid % 100000}${counter}`;
  t.after(() => {
    for (const ns of [cns, sns]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        /* not created */
      }
    }
  });
  sh('ip', 'netns', 'add', cns);
  sh('ip', 'netns', 'add', sns);
  sh('ip', 'link', 'add', vc, 'netns', cns, 'type', 'veth', 'peer', 'name', vs, 'netns', sns);
  sh('ip', '-n', cns, 'addr', 'add', '10.77.0.1/24', 'dev', vc);
  sh('ip', '-n', sns, 'addr', 'add', '10.77.0.2/24', 'dev', vs);
  sh('ip', '-n', cns, 'addr', 'add', 'fd77::1/64', 'dev', vc, 'nodad');
  sh('ip', '-n', sns, 'addr', 'add', 'fd77::2/64', 'dev', vs, 'nodad');
  for (const [ns, dev] of [[cns, vc], [sns, vs]] as const) {
    sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  // Static neighbours: with IPv6 the first neighbour solicitation goes unanswered while the
  // server's link is still settling, which would hold the knocks back for a second.
  const mac = (JSON.parse(sh('ip', '-n', sns, '-j', 'link', 'show', vs)) as { address: string }[])[0]?.address as string;
  sh('ip', '-n', cns, 'neigh', 'replace', '10.77.0.2', 'lladdr', mac, 'dev', vc, 'nud', 'permanent');
  sh('ip', '-n', cns, 'neigh', 'replace', 'fd77::2', 'lladdr', mac, 'dev', vc, 'nud', 'permanent');
  execFileSync('ip', ['netns', 'exec', sns, 'nft', '-f', '-'], { input: serverRuleset() });

  const run = (host: string, fam: string, steps: object): string =>
    sh('ip', 'netns', 'exec', cns, process.execPath, CLIENT_JS, host, fam, '20', JSON.stringify(steps));
  const out4 = run('10.77.0.2', '4', V4);
  const out6 = run('fd77::2', '6', V6);
  assert.equal(out4, 'hitting tcp 10.77.0.2:7001\nhitting udp 10.77.0.2:7002\nhitting tcp 10.77.0.2:7003\nhitting tcp 10.77.0.2:7003\n');
  assert.equal(out6.split('\n')[0], 'hitting tcp [fd77::2]:7101');

  const want = {
    'ipv4-tcp-7001': 1,
    'ipv4-udp-7002': 1,
    'ipv4-tcp-7003': 2,
    'ipv6-tcp-7101': 1,
    'ipv6-udp-7102': 1,
    'ipv6-tcp-7103': 1,
    'not-syn': 0,
  };
  // Packets are on the veth by the time the client exits; allow the server a moment to count them.
  let got = counters(sns);
  for (let i = 0; i < 20 && JSON.stringify(got) !== JSON.stringify(want); i++) {
    await new Promise((r) => setTimeout(r, 50));
    got = counters(sns);
  }
  assert.deepEqual(got, want);
});
