/** Preloaded with `node -r` by startup.test.ts: prints the modules loaded when the process exits. */
process.on('exit', () => {
  process.stderr.write(`\nLOADED ${JSON.stringify(Object.keys(require.cache))}\n`);
});
