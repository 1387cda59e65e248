/** import-fwknop: access.conf (+ fwknopd.conf) fixtures → config, warnings with their lines, errors with theirs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../../src/core';
import { loadConfigText, type SpaDoor } from '../../../src/config';
import { importFwknop } from '../../../src/config/fwknop-import';
import { parseFwknopVars } from '../../../src/config/fwknop-parse';

const ROOT = resolve(__dirname, '../../../..');
const FIX = join(ROOT, 'test/fixtures/fwknop');
const access = readFileSync(join(FIX, 'access.conf'), 'utf8');
const fwknopd = readFileSync(join(FIX, 'fwknopd.conf'), 'utf8');
const V = JSON.parse(readFileSync(join(ROOT, 'test/vectors/fwknop/client-2.6.10.json'), 'utf8')) as { key_base64: string; hmac_key_base64: string };
const NOW = 1_796_000_000;

const run = (text = access, extra: Partial<Parameters<typeof importFwknop>[0]> = {}) =>
  importFwknop({ accessText: text, accessFile: 'access.conf', nowSec: NOW, ...extra });

function issues(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.line ?? '-'}: ${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('fwknopd\'s parser rules: comments by first character, VAR: and ;-terminated values', () => {
  const { vars, bad } = parseFwknopVars('# c\n; c\nSOURCE: ANY\n  KEY  pass word ;trailing\nX\n\nPCAP_FILTER udp port 1;\r\n');
  assert.deepEqual(vars.map((v) => [v.name, v.value, v.line]), [['SOURCE', 'ANY', 3], ['KEY', 'pass word', 4], ['PCAP_FILTER', 'udp port 1', 7]]);
  assert.deepEqual(bad, [5]);
});

test('the fixture: one fwknop door, a client per usable stanza, every stanza setting carried over', () => {
  const r = run(access, { fwknopdText: fwknopd, fwknopdFile: 'fwknopd.conf' });
  const cfg = parse(r.yaml) as Record<string, unknown>;
  assert.deepEqual(cfg, {
    interfaces: ['eth1'],
    base: { policy: 'guard' },
    doors: {
      fwknop: {
        spa: {
          format: 'fwknop', port: 62299, window: 60, max_timeout: 300,
          clients: {
            'stanza-1': { key: `base64:${V.key_base64}`, hmac_key: `base64:${V.hmac_key_base64}`, require_address: true, timeout: 60, max_timeout: 600, open: ['22/tcp'] },
            'stanza-2': {
              key: `base64:${Buffer.from('fwknoptest').toString('base64')}`, hmac_key: `base64:${V.hmac_key_base64}`, hmac_digest: 'sha512',
              from: ['192.0.2.0/24', '198.51.100.7'], username: 'alice', open: ['22/tcp', '53/udp'],
            },
            'stanza-5': { key: `base64:${V.key_base64}`, hmac_key: `base64:${V.hmac_key_base64}`, from: ['10.0.0.0/8'], open: ['2222/tcp=>192.168.1.10:22'] },
          },
        },
        open: ['22/tcp', '53/udp', '2222/tcp=>192.168.1.10:22'],
        timeout: 30,
      },
    },
  });
  const loaded = loadConfigText(r.yaml);
  const door = loaded.config.doors[0] as SpaDoor;
  assert.equal(door.spa.format, 'fwknop');
  assert.equal(door.spa.fwknop?.length, 3);
  assert.match(r.yaml, /# access\.conf line 10, stanza #2: SOURCE 192\.0\.2\.0\/24, 198\.51\.100\.7/);
  assert.doesNotMatch(r.yaml, /secret/, 'the GPG password is not copied');
});

test('what does not carry over is a warning with its file and line, never silent', () => {
  const w = run(access, { fwknopdText: fwknopd, fwknopdFile: 'fwknopd.conf' }).warnings;
  const has = (re: RegExp): void => assert.ok(w.some((x) => re.test(x)), `no warning matching ${re}:\n${w.join('\n')}`);
  has(/^fwknopd\.conf:5: ENABLE_PCAP_PROMISC/);
  has(/^fwknopd\.conf:7: FIREWALL_TYPE: not used/);
  has(/^access\.conf:17: ENABLE_CMD_EXEC: nftknock never runs commands/);
  has(/^access\.conf:18: CMD_EXEC_USER/);
  has(/^access\.conf:21: GPG_DECRYPT_ID: GnuPG is not supported/);
  has(/^access\.conf:20: stanza #3 NOT IMPORTED: GnuPG stanza/);
  has(/^access\.conf:25: stanza #4 NOT IMPORTED: no HMAC_KEY_BASE64/);
  has(/^access\.conf:35: stanza #6 NOT IMPORTED: it expired \(01\/31\/2020\)/);
  has(/allow_address: true/);
  assert.ok(!w.some((x) => x.includes(V.key_base64) || x.includes('secret')), 'no key or password in a warning');
});

test('a stanza without OPEN_PORTS needs --open; a future ACCESS_EXPIRE is a warning; %include is not followed', () => {
  const text = `%include /etc/fwknop/more.conf\nSOURCE ANY\nKEY_BASE64 ${V.key_base64}\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nACCESS_EXPIRE 12/31/2099\n`;
  assert.match(issues(() => run(text)).join('\n'), /no stanza can be imported/);
  const r = run(text, { defaultOpen: [{ proto: 'tcp', port: 22 }] });
  assert.deepEqual((parse(r.yaml) as { doors: { fwknop: { open: string[] } } }).doors.fwknop.open, ['22/tcp']);
  assert.ok(r.warnings.some((x) => /^access\.conf:1: %INCLUDE .*not followed/.test(x)), r.warnings.join('\n'));
  assert.ok(r.warnings.some((x) => /^access\.conf:5: stanza #1 expires 2099-12-31/.test(x)));
  assert.ok(r.warnings.some((x) => /^access\.conf:2: stanza #1 has no OPEN_PORTS/.test(x)));
});

test('malformed input: every problem at once, each with its line; Debian\'s placeholder keys are refused', () => {
  const text = `KEY x\nSOURCE 300.1.1.1\nKEY_BASE64 __CHANGEME__\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nOPEN_PORTS tcp/22, sctp/9, tcp/70000\nFW_ACCESS_TIMEOUT soon\nHMAC_DIGEST_TYPE whirlpool\n`;
  assert.deepEqual(issues(() => run(text)), [
    '1: : KEY before the first SOURCE: every stanza starts with SOURCE',
    '3: doors.fwknop.spa.clients.stanza-1.key: KEY_BASE64 is not base64 of 1 to 32 bytes',
    '7: doors.fwknop.spa.clients.stanza-1.hmac_digest: "whirlpool" is not one of MD5, SHA1, SHA256, SHA384, SHA512, SHA3_256, SHA3_512',
    '2: doors.fwknop.spa.clients.stanza-1.from: "300.1.1.1" is not an address or network',
    '6: doors.fwknop.spa.clients.stanza-1: FW_ACCESS_TIMEOUT "soon" is not a whole number of seconds, at least 1',
    '5: doors.fwknop.spa.clients.stanza-1.open: "sctp/9" is not PROTO/PORT with PROTO tcp or udp and PORT 1-65535',
    '5: doors.fwknop.spa.clients.stanza-1.open: "tcp/70000" is not PROTO/PORT with PROTO tcp or udp and PORT 1-65535',
  ]);
});

test('knockctl import-fwknop -o writes the file with mode 0600 and refuses to overwrite without -f', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fwknop-import-'));
  const out = join(dir, 'config.yaml');
  const cli = (...a: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/launch.js'), 'import-fwknop', join(FIX, 'access.conf'), ...a], { encoding: 'utf8' });
  const r = cli('--fwknopd-conf', join(FIX, 'fwknopd.conf'), '-o', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.match(r.stderr, /warning: .*access\.conf:17: ENABLE_CMD_EXEC/);
  assert.equal(loadConfigText(readFileSync(out, 'utf8')).config.doors.length, 1);
  assert.notEqual(cli('-o', out).status, 0, 'an existing file is not replaced without -f');
  const bad = cli('--open', '22');
  assert.equal(bad.status, 0, 'a bare port is tcp');
  assert.equal(cli('--open', 'ssh').status, 2);
});

test('found by fuzzing: stanzas with the same keys and SOURCE are both kept (they take turns) and load; a bad PCAP_INTF or port is an error', () => {
  const st = `SOURCE ANY\nKEY_BASE64 ${V.key_base64}\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nOPEN_PORTS tcp/22\n`;
  const r = run(`${st}\n${st.replace('tcp/22', 'tcp/443')}`);
  assert.deepEqual(Object.keys((parse(r.yaml) as { doors: { fwknop: { spa: { clients: object } } } }).doors.fwknop.spa.clients), ['stanza-1', 'stanza-2']);
  loadConfigText(r.yaml);
  assert.deepEqual(issues(() => run(st, { fwknopdText: 'PCAP_INTF eth 1;\nPCAP_FILTER udp port 0;\n', fwknopdFile: 'fwknopd.conf' })), [
    '-: : fwknopd.conf:1: PCAP_INTF "eth 1" is not an interface name',
    '-: : fwknopd.conf:2: udp port 0: the port is not 1-65535',
  ]);
});

test('DESTINATION: the door\'s target when all stanzas agree, a warning each when they do not', () => {
  const st = (dest: string, k: string) => `SOURCE ANY\nKEY_BASE64 ${k}\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nOPEN_PORTS tcp/22\nDESTINATION ${dest}\n`;
  const k2 = Buffer.alloc(32, 8).toString('base64');
  const same = run(`${st('192.0.2.1', V.key_base64)}${st('192.0.2.1', k2)}`);
  assert.deepEqual((parse(same.yaml) as { doors: { fwknop: { target?: string[] } } }).doors.fwknop.target, ['192.0.2.1']);
  loadConfigText(same.yaml);
  const differ = run(`${st('192.0.2.1', V.key_base64)}${st('ANY', k2)}`);
  assert.equal((parse(differ.yaml) as { doors: { fwknop: { target?: string[] } } }).doors.fwknop.target, undefined);
  assert.ok(differ.warnings.some((w) => /^access\.conf:5: stanza #1: DESTINATION differs/.test(w)), differ.warnings.join('\n'));
});

test('%include and %include_folder are followed in fwknopd\'s order; warnings name the included file; loops are errors', () => {
  const st = (k: string, port: number) => `SOURCE ANY\nKEY_BASE64 ${k}\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nOPEN_PORTS tcp/${port}\n`;
  const k = (n: number) => Buffer.alloc(32, n).toString('base64');
  const files = new Map<string, string>([
    ['/etc/fwknop/alice.conf', `${st(k(1), 22)}ENABLE_CMD_EXEC Y\n`],
    ['/etc/fwknop/users.d/b.conf', st(k(2), 443)],
    ['/etc/fwknop/users.d/c.conf', st(k(3), 80)],
  ]);
  const reader = {
    read: (p: string) => files.get(p) ?? (() => { throw new Error('cannot read: ENOENT'); })(),
    list: (d: string) => [...files.keys()].filter((p) => p.startsWith(`${d}/`)).sort(),
  };
  const main = `${st(k(9), 2222)}%include /etc/fwknop/alice.conf\n%include_folder /etc/fwknop/users.d\n`;
  const r = run(main, { reader });
  const cfg = parse(r.yaml) as { doors: { fwknop: { open: string[]; spa: { clients: Record<string, { open: string[] }> } } } };
  assert.deepEqual(Object.entries(cfg.doors.fwknop.spa.clients).map(([n, c]) => `${n}=${c.open.join()}`), ['stanza-1=2222/tcp', 'stanza-2=22/tcp', 'stanza-3=443/tcp', 'stanza-4=80/tcp']);
  assert.match(r.yaml, /# \/etc\/fwknop\/users\.d\/b\.conf line 1, stanza #3/);
  assert.ok(r.warnings.some((w) => w.startsWith('/etc/fwknop/alice.conf:5: ENABLE_CMD_EXEC')), r.warnings.join('\n'));
  loadConfigText(r.yaml);
  files.set('/etc/fwknop/loop.conf', `${st(k(4), 22)}%include /etc/fwknop/loop.conf\n`);
  assert.deepEqual(issues(() => run(`${st(k(9), 22)}%include /etc/fwknop/loop.conf\n%include /etc/fwknop/missing.conf\n`, { reader })), [
    '-: : /etc/fwknop/loop.conf:5: %INCLUDE /etc/fwknop/loop.conf: included from itself, or nested more than 8 deep',
    '6: : %INCLUDE /etc/fwknop/missing.conf: cannot read: ENOENT',
  ]);
});

test('found by fuzzing: a FORCE_NAT port another stanza serves here is left out with a warning; OPEN_PORTS duplicates are merged', () => {
  const st = (extra: string, k: string) => `SOURCE ANY\nKEY_BASE64 ${k}\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nOPEN_PORTS tcp/22, tcp/22\n${extra}`;
  const r = run(`${st('', V.key_base64)}${st('FORCE_NAT 192.168.1.10 22\n', Buffer.alloc(32, 8).toString('base64'))}`);
  const cfg = parse(r.yaml) as { doors: { fwknop: { open: string[]; spa: { clients: Record<string, { open: string[] }> } } } };
  assert.deepEqual(cfg.doors.fwknop.open, ['22/tcp']);
  assert.deepEqual(Object.keys(cfg.doors.fwknop.spa.clients), ['stanza-1']);
  assert.ok(r.warnings.some((w) => /^access\.conf:5: stanza #2 NOT IMPORTED: 22\/tcp=>192\.168\.1\.10:22 and 22\/tcp .* same port 22\/tcp/.test(w)), r.warnings.join('\n'));
  loadConfigText(r.yaml);
});

test('found by fuzzing: a MAX_SPA_PACKET_AGE above spa.window\'s bound is imported at the bound, with a warning, and loads', () => {
  const st = `SOURCE ANY\nKEY_BASE64 ${V.key_base64}\nHMAC_KEY_BASE64 ${V.hmac_key_base64}\nOPEN_PORTS tcp/22\n`;
  const r = run(st, { fwknopdText: 'MAX_SPA_PACKET_AGE 65536;\n', fwknopdFile: 'fwknopd.conf' });
  assert.equal((parse(r.yaml) as { doors: { fwknop: { spa: { window: number } } } }).doors.fwknop.spa.window, 3600);
  assert.ok(r.warnings.some((w) => /fwknopd\.conf.*1.*MAX_SPA_PACKET_AGE 65536/.test(w)), r.warnings.join('\n'));
  loadConfigText(r.yaml);
});
