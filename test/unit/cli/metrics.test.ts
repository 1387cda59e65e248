/** Prometheus text rendering (pure) and the listen-address parser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newStats } from '../../../src/daemon';
import { escapeLabel, parseListen, renderMetrics } from '../../../src/cli/metrics';

const START = Date.parse('2025-03-01T10:00:00.500Z');

function sample(): ReturnType<typeof newStats> {
  const s = newStats(START);
  Object.assign(s, { packets: 40, duplicates: 6, captureDropped: 9, knocks: 12, knockSuccesses: 3, evictions: 2, grants: 4, revokes: 1, spaAccepted: 1, nftFailures: 1, hookFailures: 0, internalErrors: 0 });
  s.spaRejected = { replay: 1, 'bad-mac': 3 };
  s.decodeErrors = { 'truncated-ip': 2 };
  s.knockResets = { timeout: 5 };
  return s;
}

/** name{labels} → value, from the exposition text. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

test('every counter of status is a metric with the documented name and value', () => {
  const m = samples(renderMetrics(sample(), { table: 'knockctl', doors: 2 }));
  const want: [string, number][] = [
    ['knockctl_up', 1],
    ['knockctl_start_time_seconds', 1740823200.5],
    ['knockctl_doors', 2],
    ['knockctl_packets_total', 40],
    ['knockctl_duplicate_frames_total', 6],
    ['knockctl_capture_dropped_total', 9],
    ['knockctl_knocks_total', 12],
    ['knockctl_knock_successes_total', 3],
    ['knockctl_knock_resets_total{reason="timeout"}', 5],
    ['knockctl_evictions_total', 2],
    ['knockctl_grants_total', 4],
    ['knockctl_revokes_total', 1],
    ['knockctl_spa_accepted_total', 1],
    ['knockctl_spa_rejected_total{reason="bad-mac"}', 3],
    ['knockctl_spa_rejected_total{reason="replay"}', 1],
    ['knockctl_decode_errors_total{reason="truncated-ip"}', 2],
    ['knockctl_nft_failures_total', 1],
    ['knockctl_hook_failures_total', 0],
    ['knockctl_internal_errors_total', 0],
    ['knockctl_info{table="knockctl"}', 1],
  ];
  for (const [k, v] of want) assert.equal(m.get(k), v, k);
  assert.equal(m.size, want.length, `unexpected samples: ${[...m.keys()].filter((k) => !want.some(([w]) => w === k)).join(', ')}`);
});

test('exposition format: HELP and TYPE once per family, before its samples; counters end in _total; newline at the end', () => {
  const text = renderMetrics(sample(), { table: 'kt', doors: 0 });
  assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'));
  const seen = new Set<string>();
  let current = '';
  for (const line of text.trimEnd().split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.ok(!seen.has(meta[2]!), `TYPE twice for ${meta[2]}`);
        seen.add(meta[2]!);
        if (meta[3] === 'counter') assert.match(meta[2]!, /_total$/);
      }
      current = meta[2]!;
      continue;
    }
    assert.match(line, /^[a-z_]+(\{[a-z_]+="(?:[^"\\]|\\.)*"\})? -?[0-9.e+]+$/, line);
    assert.equal(line.split(/[{ ]/)[0], current, `sample ${line} outside its family`);
  }
});

test('labelled families: sorted reasons, and HELP/TYPE even before the first occurrence', () => {
  const fresh = renderMetrics(newStats(0), { table: 'kt', doors: 1 });
  assert.match(fresh, /# TYPE knockctl_spa_rejected_total counter\n# HELP knockctl_decode_errors_total/);
  const text = renderMetrics(sample(), { table: 'kt', doors: 1 });
  assert.ok(text.indexOf('reason="bad-mac"') < text.indexOf('reason="replay"'));
});

test('label values are escaped', () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const s = newStats(0);
  s.spaRejected = { 'we"ird': 1 };
  assert.match(renderMetrics(s, { table: 'kt', doors: 0 }), /knockctl_spa_rejected_total\{reason="we\\"ird"\} 1/);
});

test('metrics.listen forms', () => {
  assert.deepEqual(parseListen('127.0.0.1:9479'), { host: '127.0.0.1', port: 9479 });
  assert.deepEqual(parseListen('[::1]:9479'), { host: '::1', port: 9479 });
  assert.deepEqual(parseListen('localhost:9479'), { host: '127.0.0.1', port: 9479 });
  assert.deepEqual(parseListen('unix:/run/knockctl/metrics.sock'), { path: '/run/knockctl/metrics.sock' });
  assert.throws(() => parseListen('127.0.0.1:70000'), /metrics\.listen: "127\.0\.0\.1:70000" is not HOST:PORT/);
});
