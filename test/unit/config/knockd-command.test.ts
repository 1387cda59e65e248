import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandArgv, needsShell, parseAllowCommand } from '../../../src/config/knockd-command';

const ALLOWS: { cmd: string; action: 'add' | 'delete'; ports: string[]; timeoutSec?: number }[] = [
  { cmd: '/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT', action: 'add', ports: ['22/tcp'] },
  { cmd: 'iptables -I INPUT 1 -s %IP% -p tcp -m tcp --syn --dport 22 -j ACCEPT', action: 'add', ports: ['22/tcp'] },
  { cmd: 'iptables -w 5 -I INPUT -s %IP%/32 -p udp -m udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT', action: 'add', ports: ['53/udp'] },
  { cmd: 'ip6tables --delete INPUT --source %IP% --protocol tcp --destination-port 443 --jump ACCEPT', action: 'delete', ports: ['443/tcp'] },
  { cmd: 'iptables -A INPUT -s %IP% -p tcp -m multiport --dports 80,443 -j ACCEPT', action: 'add', ports: ['80/tcp', '443/tcp'] },
  { cmd: 'iptables -A INPUT -s %IP% --dport 22 -j ACCEPT', action: 'add', ports: ['22/tcp'] },
  { cmd: '/usr/sbin/knock_add -x -c INPUT -p udp -d 1194 -f %IP%', action: 'delete', ports: ['1194/udp'] },
  { cmd: 'nft add element inet filter knocked { %IP% . tcp . 22 timeout 5m }', action: 'add', ports: ['22/tcp'], timeoutSec: 300 },
  { cmd: 'nft delete element ip6 filter knocked {%IP%.udp.53}', action: 'delete', ports: ['53/udp'] },
  { cmd: 'nft add rule inet filter input ip saddr %IP% tcp dport 22 accept', action: 'add', ports: ['22/tcp'] },
  { cmd: 'nft insert rule ip6 filter input ct state new ip6 saddr %IP% udp dport { 500, 4500 } counter accept', action: 'add', ports: ['500/udp', '4500/udp'] },
];

for (const c of ALLOWS) {
  test(`recognised: ${c.cmd}`, () => {
    const r = parseAllowCommand(c.cmd);
    assert.ok(r, 'not recognised');
    assert.equal(r.action, c.action);
    assert.deepEqual(r.ports.map((p) => `${p.port}/${p.proto}`), c.ports);
    assert.equal(r.timeoutSec, c.timeoutSec);
  });
}

const OTHERS = [
  'iptables -A INPUT -s %IP% -p tcp --syn -j ACCEPT', // every TCP port
  'iptables -A INPUT -i eth0 -s %IP% -p tcp --dport 22 -j ACCEPT', // interface match
  'iptables -A FORWARD -s %IP% -p tcp --dport 22 -j ACCEPT',
  'iptables -A INPUT -s %IP% -p tcp --dport 22 -j DROP',
  'iptables -A INPUT -s 10.0.0.1 -p tcp --dport 22 -j ACCEPT',
  'iptables -A INPUT -s %IP% -p tcp --dport 1000:2000 -j ACCEPT',
  'iptables -A INPUT -s %IP% -p tcp --dport 70000 -j ACCEPT',
  'iptables -A INPUT -s %IP% -p icmp --dport 1 -j ACCEPT',
  'iptables -t nat -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT',
  'iptables -D INPUT 3',
  'iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT; logger knocked',
  'nft add element inet filter knocked { %IP% }', // port unknown
  'nft add rule inet filter input ip saddr %IP% accept',
  'nft delete rule inet filter input handle 7',
  '/usr/bin/etherwake 00:11:22:33:44:55',
];

for (const cmd of OTHERS) {
  test(`not an allow: ${cmd}`, () => assert.equal(parseAllowCommand(cmd), undefined));
}

test('a start and its stop share a key; other rules do not', () => {
  const a = parseAllowCommand('iptables -I INPUT 1 -s %IP% -p tcp --dport 22 -j ACCEPT');
  const b = parseAllowCommand('iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT');
  const c = parseAllowCommand('iptables -D INPUT -s %IP% -p tcp --dport 23 -j ACCEPT');
  const d = parseAllowCommand('ip6tables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT');
  assert.equal(a?.key, b?.key);
  assert.notEqual(a?.key, c?.key);
  assert.notEqual(a?.key, d?.key);
});

test('commands needing a shell are wrapped in /bin/sh -c; plain ones are split on blanks', () => {
  for (const s of ['a | b', 'a; b', 'a && b', 'a > /f', 'echo "x"', 'echo $HOME', 'X=1 prog', 'echo `id`', 'ls *.conf']) assert.ok(needsShell(s), s);
  for (const s of ['/usr/bin/etherwake -i eth1 00:11:22:33:44:55', 'nft add element inet t s { %IP% }']) assert.ok(!needsShell(s), s);
  assert.deepEqual(commandArgv('  /bin/logger  -t knock %IP% '), { argv: ['/bin/logger', '-t', 'knock', '%IP%'], shell: false });
  assert.deepEqual(commandArgv('echo %IP% >> /var/log/k'), { argv: ['/bin/sh', '-c', 'echo %IP% >> /var/log/k'], shell: true });
});
