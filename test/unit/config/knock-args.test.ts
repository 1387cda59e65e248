import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKnockArgs } from '../../../src/config/knock-args';

const GOOD: { argv: string[]; want: object }[] = [
  { argv: ['myserver.example.com', '123:tcp', '456:udp', '789:tcp'], want: { host: 'myserver.example.com', steps: ['123/tcp', '456/udp', '789/tcp'], delayMs: 0, verbose: false } },
  { argv: ['-u', 'myserver.example.com', '8284', '4721', '18592', '42912'], want: { host: 'myserver.example.com', steps: ['8284/udp', '4721/udp', '18592/udp', '42912/udp'], delayMs: 0, verbose: false } },
  { argv: ['-u', 'h', '1', '2:tcp'], want: { host: 'h', steps: ['1/udp', '2/tcp'], delayMs: 0, verbose: false } },
  { argv: ['-d', '250', '-6', '-v', 'h', '7000'], want: { host: 'h', steps: ['7000/tcp'], delayMs: 250, family: 6, verbose: true } },
  { argv: ['-d250', '-4uv', 'h', '7000'], want: { host: 'h', steps: ['7000/udp'], delayMs: 250, family: 4, verbose: true } },
  { argv: ['--delay=10', '--ipv4', '--udp', '--verbose', 'h', '1'], want: { host: 'h', steps: ['1/udp'], delayMs: 10, family: 4, verbose: true } },
  { argv: ['h', '1', '-v', '--delay', '5', '2:UDP'], want: { host: 'h', steps: ['1/tcp', '2/udp'], delayMs: 5, verbose: true } },
  { argv: ['-4', '-6', '--', 'h', '65535'], want: { host: 'h', steps: ['65535/tcp'], delayMs: 0, family: 6, verbose: false } },
];

for (const c of GOOD) {
  test(`knock ${c.argv.join(' ')}`, () => {
    const r = parseKnockArgs(c.argv);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.action, 'knock');
    const v = r.value as { host: string; steps: readonly { port: number; proto: string }[] };
    assert.deepEqual({ ...v, action: undefined, steps: v.steps.map((s) => `${s.port}/${s.proto}`) }, { action: undefined, ...c.want });
  });
}

test('-h and -V win over everything else', () => {
  assert.deepEqual(parseKnockArgs(['-h']), { ok: true, value: { action: 'help' } });
  assert.deepEqual(parseKnockArgs(['host', '1', '--version']), { ok: true, value: { action: 'version' } });
});

const BAD: { argv: string[]; re: RegExp }[] = [
  { argv: [], re: /need a host and at least one port\nusage: knock/ },
  { argv: ['host'], re: /need a host and at least one port/ },
  { argv: ['host', '70000'], re: /"70000" is not a port 1-65535/ },
  { argv: ['host', '0'], re: /"0" is not a port 1-65535/ },
  { argv: ['host', '22:icmp'], re: /"22:icmp" is not of the form PORT\[:PROTO\]/ },
  { argv: ['host', 'ssh'], re: /"ssh" is not of the form PORT\[:PROTO\]/ },
  { argv: ['-d', 'soon', 'host', '1'], re: /-d "soon" is not a delay in milliseconds/ },
  { argv: ['-d', '-5', 'host', '1'], re: /-d "-5" is not a delay/ },
  { argv: ['host', '1', '-d'], re: /option -d needs a value/ },
  { argv: ['-x', 'host', '1'], re: /unknown option "-x"/ },
  { argv: ['--udp=yes', 'host', '1'], re: /option --udp takes no value/ },
  { argv: ['--fast', 'host', '1'], re: /unknown option "--fast"/ },
];

for (const c of BAD) {
  test(`rejects knock ${c.argv.join(' ')}`, () => {
    const r = parseKnockArgs(c.argv);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.reason, 'bad-usage');
    assert.match(r.detail ?? '', c.re);
  });
}
