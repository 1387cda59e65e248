import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTimeOffset } from '../../../src/cli/spa';
import { UsageError } from '../../../src/core';

test('--time-offset: signed durations in the config syntax', () => {
  assert.equal(parseTimeOffset('-30s'), -30);
  assert.equal(parseTimeOffset('+5m'), 300);
  assert.equal(parseTimeOffset('90'), 90);
  assert.equal(parseTimeOffset('-1h30m'), -5400);
  for (const bad of ['', 'soon', '--5', '5x']) assert.throws(() => parseTimeOffset(bad), UsageError, bad);
});
