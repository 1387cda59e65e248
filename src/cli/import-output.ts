/** What the import commands (import-knockd, import-fwknop) do with a translation: warnings, then the YAML. */
import { writeFileAtomicSync } from '../io/atomic-file';

export function writeImport(r: { readonly yaml: string; readonly warnings: readonly string[] }, opts: { out?: string; force?: boolean }): number {
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
  if (opts.out) {
    // Whole file or nothing: `> config.yaml` would leave an empty config behind on failure.
    writeFileAtomicSync(opts.out, r.yaml, { mode: 0o600, force: opts.force === true });
    process.stderr.write(`wrote ${opts.out}; check it with: knockctl check-config -c ${opts.out}\n`);
  } else process.stdout.write(r.yaml);
  return 0;
}
