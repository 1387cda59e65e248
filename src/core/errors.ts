/**
 * Typed errors with a stable `code`. The CLI maps them to exit codes in one place (cli/exit.ts):
 * ConfigError and UsageError exit 2, everything else 1.
 */

export class KnockctlError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in a config file: a JSON path such as `doors.ssh.sequence[1]` and a plain reason. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** 1-based line in the source text, when known. */
  readonly line?: number;
}

/** A config that failed validation; carries every issue, not just the first. */
export class ConfigError extends KnockctlError {
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;
  constructor(issues: readonly ConfigIssue[], file?: string) {
    super('ERR_CONFIG', formatIssues(issues, file));
    this.issues = issues;
    this.file = file;
  }
}

export function formatIssue(issue: ConfigIssue, file?: string): string {
  const where = file ? `${file}${issue.line ? `:${issue.line}` : ''}: ` : issue.line ? `line ${issue.line}: ` : '';
  return `${where}${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

function formatIssues(issues: readonly ConfigIssue[], file?: string): string {
  const n = issues.length;
  const head = `invalid config${file ? ` ${file}` : ''}: ${n} problem${n === 1 ? '' : 's'}`;
  return [head, ...issues.map((i) => `  ${formatIssue(i, file)}`)].join('\n');
}

/** Bad command-line usage. */
export class UsageError extends KnockctlError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * An `nft` invocation that failed. `stderr` is nft's own message; `attempted` says what we tried
 * (e.g. "install ruleset"). Never carries key material: batches hold addresses and ports only.
 */
export class NftError extends KnockctlError {
  readonly exitStatus: number | null;
  readonly stderr: string;
  readonly attempted: string;
  constructor(attempted: string, exitStatus: number | null, stderr: string, options?: { cause?: unknown; code?: string }) {
    const reason = stderr.trim().split('\n').filter(Boolean).slice(0, 6).join(' | ') || `exit status ${exitStatus}`;
    super(options?.code ?? 'ERR_NFT', `nft failed to ${attempted}: ${reason}`, options);
    this.exitStatus = exitStatus;
    this.stderr = stderr;
    this.attempted = attempted;
  }
}

/** Packet capture could not start or failed (libpcap's message in `message`). */
export class CaptureError extends KnockctlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CAPTURE', message, options);
  }
}

/** A state file (replay cache, one-time sequences) could not be read or written. */
export class StateError extends KnockctlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STATE', message, options);
  }
}
