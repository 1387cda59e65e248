import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCaptureFilter, captureSpecFromConfig, MATCH_NOTHING, type CaptureConfigView } from '../../../src/packet';
import type { Config, Door, KnockDoor, SpaDoor } from '../../../src/config/types';

const common = { open: [{ kind: 'local' as const, port: 22, proto: 'tcp' as const }], timeoutSec: 30, action: 'grant' as const, hooks: { cmdTimeoutSec: 5 } };

function knock(name: string, steps: string[], mode: 'daemon' | 'kernel' = 'daemon'): KnockDoor {
  return {
    ...common,
    name,
    kind: 'knock',
    mode,
    sequence: { type: 'static', steps: steps.map((s) => ({ port: Number(s.split(':')[0]), proto: s.endsWith('udp') ? 'udp' : 'tcp' })) },
    seqTimeoutSec: 10,
    tcpFlags: { set: 2, unset: 0 },
  };
}

function rotating(name: string, low: number, high: number, protocols: Array<'tcp' | 'udp'>): KnockDoor {
  return {
    ...common,
    name,
    kind: 'knock',
    mode: 'daemon',
    sequence: { type: 'rotate', secretFile: '/x', length: 3, stepSec: 30, portLow: low, portHigh: high, protocols },
    seqTimeoutSec: 10,
    tcpFlags: { set: 0, unset: 0 },
  };
}

function spa(name: string, port: number): SpaDoor {
  return { ...common, name, kind: 'spa', spa: { port, windowSec: 60, allowAddress: false, clients: [] } };
}

function config(doors: Door[]): Config {
  return {
    table: 'knockctl',
    interfaces: ['any'],
    stateDir: '/tmp',
    logLevel: 'info',
    limits: { maxSources: 1000, maxReplay: 1000, captureRing: 8192 },
    base: { policy: 'drop', allow: [], icmp: true, allowFrom: [] },
    doors,
  };
}

const filterOf = (doors: Door[], extra?: Parameters<typeof captureSpecFromConfig>[1]): string =>
  buildCaptureFilter(captureSpecFromConfig(config(doors), extra));

test('the normalized Config is accepted where the capture view is expected', () => {
  const view: CaptureConfigView = config([]);
  assert.deepEqual(view.doors, []);
});

test('no doors → a filter that matches nothing, not everything', () => {
  assert.equal(filterOf([]), MATCH_NOTHING);
  assert.equal(MATCH_NOTHING, 'len = 0');
});

test('a static sequence and an SPA door: one term per port, TCP first, inbound only', () => {
  assert.equal(
    filterOf([knock('ssh', ['7000:tcp', '8000:tcp', '9000:udp']), spa('spa', 62201)]),
    'inbound and (tcp dst port 7000 or tcp dst port 8000 or udp dst port 9000 or udp dst port 62201)',
  );
});

test('ports shared between doors appear once; kernel-mode doors are left to the kernel', () => {
  assert.equal(
    filterOf([knock('a', ['7000:tcp', '9000:udp']), knock('b', ['9000:udp', '7000:tcp', '7000:tcp']), knock('k', ['5000:tcp'], 'kernel')]),
    'inbound and (tcp dst port 7000 or udp dst port 9000)',
  );
  assert.equal(filterOf([knock('k', ['5000:tcp'], 'kernel')]), MATCH_NOTHING);
});

test('a rotating sequence is a port range per protocol, and absorbs single ports inside it', () => {
  assert.equal(
    filterOf([rotating('r', 20000, 20999, ['tcp', 'udp']), knock('s', ['20500:tcp', '21500:udp'])]),
    'inbound and (tcp dst portrange 20000-20999 or udp dst portrange 20000-20999 or udp dst port 21500)',
  );
});

test('overlapping and adjacent ranges and ports collapse into one range', () => {
  assert.equal(
    filterOf([rotating('r1', 1000, 1999, ['tcp']), rotating('r2', 1500, 2500, ['tcp']), knock('s', ['2501:tcp', '999:tcp', '3000:tcp'])]),
    'inbound and (tcp dst portrange 999-2501 or tcp dst port 3000)',
  );
});

test('extra ports (one-time sequences) join the filter, deduplicated', () => {
  assert.equal(
    filterOf([spa('spa', 62201)], [{ port: 4444, proto: 'tcp' }, { port: 62201, proto: 'udp' }]),
    'inbound and (tcp dst port 4444 or udp dst port 62201)',
  );
  assert.equal(buildCaptureFilter({ ports: [{ port: 1, proto: 'udp' }], ranges: [] }), 'inbound and (udp dst port 1)');
});

test('a port outside 1-65535 is a bug and never reaches the filter text', () => {
  for (const port of [0, 65536, 1.5, NaN]) {
    assert.throws(() => buildCaptureFilter({ ports: [{ port, proto: 'tcp' }], ranges: [] }), RangeError, String(port));
  }
  assert.throws(() => buildCaptureFilter({ ports: [], ranges: [{ proto: 'udp', low: 10, high: 9 }] }), RangeError);
});
