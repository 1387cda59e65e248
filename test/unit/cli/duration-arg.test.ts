import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/core';
import { parseDurationArg } from '../../../src/cli/duration-arg';

test('command-line durations use the config syntax and the option\'s bounds', () => {
  assert.equal(parseDurationArg('--timeout', '1h30m', { min: 1 }), 5400);
  assert.equal(parseDurationArg('--confirm', '90', { min: 5, max: 3600 }), 90);
  assert.equal(parseDurationArg('--confirm', '2m', { min: 5, max: 3600 }), 120);
  assert.throws(() => parseDurationArg('--confirm', '2h', { min: 5, max: 3600 }), (e: Error) => e instanceof UsageError && /--confirm "2h": need a duration from 5s to 1h/.test(e.message));
  assert.throws(() => parseDurationArg('--keep-ssh-timeout', '30', { min: 60 }), /at least 1m/);
  assert.throws(() => parseDurationArg('-t', '10 min', { min: 1 }), (e: Error) => e instanceof UsageError && /-t "10 min": not a duration/.test(e.message));
});
