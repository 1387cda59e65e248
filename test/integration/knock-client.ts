/**
 * Runs inside the client namespace for test/integration/knock-sender.test.ts:
 * `node knock-client.js HOST FAMILY DELAY_MS STEPS_JSON`. Exits 0 after the knocks were sent.
 */
import { sendKnocks } from '../../src/io/knock-sender';

const [host, family, delay, steps] = process.argv.slice(2);
sendKnocks(host as string, JSON.parse(steps as string), {
  delayMs: Number(delay),
  family: family === '6' ? 6 : 4,
  verbose: (l) => process.stdout.write(`${l}\n`),
}).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(1);
  },
);
