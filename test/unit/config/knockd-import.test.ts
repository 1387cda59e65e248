import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../../src/core';
import { loadConfigText } from '../../../src/config';
import { importKnockd } from '../../../src/config/knockd-import';

const FIXTURES = resolve(__dirname, '../../../../test/fixtures/knockd');

interface Expected {
  config: unknown;
  inactive: Record<string, unknown>;
  warnings: string[];
}

/** The doors written out commented (`#   ` + YAML), parsed back. */
function inactiveDoors(yaml: string): Record<string, unknown> {
  const lines = yaml.split('\n').filter((l) => l.startsWith('#   ')).map((l) => l.slice(4));
  return (parse(lines.join('\n')) as Record<string, unknown> | null) ?? {};
}

const confs = readdirSync(FIXTURES).filter((f) => f.endsWith('.conf')).sort();

test('fixture set covers the man page examples and the variants', () => {
  assert.equal(confs.filter((f) => f.startsWith('man-example')).length, 4);
  assert.ok(confs.length >= 11);
});

for (const name of confs) {
  test(`${name} translates to the expected config, which loads`, () => {
    const text = readFileSync(join(FIXTURES, name), 'utf8');
    const exp = JSON.parse(readFileSync(join(FIXTURES, name.replace(/\.conf$/, '.expected.json')), 'utf8')) as Expected;
    const out = importKnockd(text, name);
    assert.deepEqual(parse(out.yaml), exp.config);
    assert.deepEqual(inactiveDoors(out.yaml), exp.inactive);
    assert.deepEqual(out.warnings, exp.warnings);
    assert.match(out.yaml, new RegExp(`^# nftknock config translated from ${name.replace('.', '\\.')}`));
    const loaded = loadConfigText(out.yaml, name);
    assert.equal(loaded.config.doors.length, Object.keys((exp.config as { doors: object }).doors).length);
  });
}

test('man page example 1: openSSH grants 22/tcp, closeSSH revokes it', () => {
  const out = importKnockd(readFileSync(join(FIXTURES, 'man-example1.conf'), 'utf8'));
  const { config } = loadConfigText(out.yaml);
  const [open, close] = config.doors;
  assert.equal(open?.name, 'openSSH');
  assert.equal(open?.action, 'grant');
  assert.deepEqual(open?.open, [{ kind: 'local', port: 22, proto: 'tcp' }]);
  assert.equal(open?.kind === 'knock' && open.seqTimeoutSec, 10);
  assert.equal(close?.action, 'revoke');
  assert.deepEqual(close?.open, [{ kind: 'local', port: 22, proto: 'tcp' }]);
  assert.equal(config.base.policy, 'guard');
});

test('a door with udp knocks keeps them, with the target and the interface', () => {
  const out = importKnockd(readFileSync(join(FIXTURES, 'udp-target.conf'), 'utf8'));
  const { config } = loadConfigText(out.yaml);
  const d = config.doors[0];
  assert.ok(d && d.kind === 'knock' && d.sequence.type === 'static');
  assert.deepEqual(d.sequence.steps.map((s) => s.proto), ['udp', 'tcp', 'udp']);
  assert.deepEqual(d.target?.map((t) => t.text), ['192.0.2.10/32']);
  assert.deepEqual(config.interfaces, ['eth1']);
  assert.equal(d.timeoutSec, 15);
});

test('translated doors carry a comment naming their knockd section and line', () => {
  const out = importKnockd(readFileSync(join(FIXTURES, 'ip6tables.conf'), 'utf8'));
  assert.match(out.yaml, /# \[ssh6\] from line 5\n {2}# start_command allows the knocker to: 22\/tcp\n/);
});

test('knockd defaults carry over: seq_timeout 25 s, cmd_timeout 10 s', () => {
  const out = importKnockd('[d]\nsequence = 1,2\ntcpflags = syn\nstart_command = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\nstop_command = iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n');
  assert.deepEqual((parse(out.yaml) as { doors: Record<string, unknown> }).doors.d, {
    sequence: ['1:tcp', '2:tcp'], seq_timeout: 25, tcpflags: 'syn', open: ['22/tcp'], timeout: 10,
  });
});

function issuesOf(text: string): { line?: number; path: string; message: string }[] {
  try {
    importKnockd(text, 'knockd.conf');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.file, 'knockd.conf');
    return e.issues.map((i) => ({ ...i }));
  }
  assert.fail('expected a ConfigError');
}

const MALFORMED: { name: string; text: string; want: { line: number; re: RegExp }[] }[] = [
  { name: 'key outside a section', text: '# c\n\nsequence = 1,2\n[a]\nsequence = 1,2\n', want: [{ line: 3, re: /outside a section/ }] },
  { name: 'port 70000', text: '[a]\n  sequence = 7000,70000,9000\n', want: [{ line: 2, re: /"70000": is not a port 1-65535/ }] },
  { name: 'port 0 from a trailing comma', text: '[a]\nsequence = 7000,8000,\n', want: [{ line: 2, re: /"": is not of the form PORT/ }] },
  { name: 'unknown protocol', text: '[a]\nsequence = 7000:icmp\n', want: [{ line: 2, re: /"7000:icmp": is not of the form PORT\[:tcp\|udp\]/ }] },
  { name: 'unknown key in a door', text: '[options]\nlogfile = /x\n[a]\nsequence = 1,2\nlogfile = /y\n', want: [{ line: 5, re: /unknown key "logfile" in \[a\]/ }] },
  { name: 'unknown key in options', text: '[options]\n  Interfaces = eth0\n', want: [{ line: 2, re: /unknown key "Interfaces" in \[options\]/ }] },
  { name: 'door without a sequence', text: '[options]\nUseSyslog\n\n[a]\nseq_timeout = 5\n', want: [{ line: 4, re: /door \[a\] has no Sequence/ }] },
  { name: 'empty section name', text: '[]\n', want: [{ line: 1, re: /bad section name/ }] },
  { name: 'directive without =', text: '[a]\nsequence 1,2\n', want: [{ line: 2, re: /not a directive of the form KEY = VALUE/ }] },
  { name: 'UseSyslog with a value', text: '[options]\nUseSyslog = yes\n', want: [{ line: 2, re: /UseSyslog takes no value/ }] },
  { name: 'key twice (command is start_command)', text: '[a]\nsequence = 1\ncommand = /bin/true\nstart_command = /bin/false\n', want: [{ line: 4, re: /set twice \(first on line 3\)/ }] },
  { name: 'bad tcp flag', text: '[a]\nsequence = 1\ntcpflags = syn,bogus\n', want: [{ line: 3, re: /"bogus" is not a TCP flag/ }] },
  { name: 'bad seq_timeout', text: '[a]\nsequence = 1\nseq_timeout = 10s\n', want: [{ line: 3, re: /"10s" is not a whole number of seconds/ }] },
  { name: 'relative one-time file', text: '[a]\none_time_sequences = seqs.txt\n', want: [{ line: 2, re: /not an absolute path/ }] },
  { name: 'target not an address', text: '[a]\nsequence = 1\ntarget = host.example\n', want: [{ line: 3, re: /not an IPv4 or IPv6 address/ }] },
  { name: 'two doors, one sequence', text: '[a]\nsequence = 1,2\n[b]\n\nsequence = 1:tcp,2\n', want: [{ line: 5, re: /same knock sequence as \[a\]/ }] },
  { name: '33 knocks', text: `[a]\nsequence = ${Array.from({ length: 33 }, (_, i) => i + 1).join(',')}\n`, want: [{ line: 2, re: /has 33 knocks; at most 32/ }] },
  {
    name: 'every problem is reported, not only the first',
    text: 'x = 1\n[a]\nsequence = 99999\n[b]\nfoo = bar\n',
    want: [{ line: 1, re: /outside a section/ }, { line: 5, re: /unknown key "foo"/ }],
  },
];

for (const c of MALFORMED) {
  test(`malformed: ${c.name}`, () => {
    const issues = issuesOf(c.text);
    assert.equal(issues.length, c.want.length, JSON.stringify(issues));
    c.want.forEach((w, i) => {
      assert.equal(issues[i]?.line, w.line);
      assert.match(`${issues[i]?.path}: ${issues[i]?.message}`, w.re);
    });
  });
}

test('the ConfigError message names the file and line', () => {
  assert.throws(() => importKnockd('[a]\nsequence = 70000\n', '/etc/knockd.conf'), /\/etc\/knockd\.conf:2: a\.sequence: "70000": is not a port 1-65535/);
});
