import { SlotshiftError } from '../errors/index.js';

/** One thing wrong in a config or plan file, located by file, 1-based line and column, and field path. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path of the field, e.g. `spec.limits.maxBytes` or `spec.pin[2]`; empty for the document. */
  readonly field: string;
  /** What is wrong and what is allowed. */
  readonly problem: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.field ? `${where}: ${issue.field}: ${issue.problem}` : `${where}: ${issue.problem}`;
}

/**
 * A config or plan file is invalid. The first issue's position is on the error itself; the message
 * lists every issue found, one per line, so a user fixes them in one round.
 */
export class ConfigFileError extends SlotshiftError {
  readonly code: string = 'INVALID_CONFIG';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;

  constructor(readonly issues: readonly [ConfigIssue, ...ConfigIssue[]]) {
    super(issues.map(formatIssue).join('\n'));
    const [first] = issues;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.field = first.field;
  }
}

/** A plan names a node (weights, drain, exclude) that the cluster does not have, or more than one. */
export class UnknownNodeRefError extends ConfigFileError {
  override readonly code = 'UNKNOWN_NODE';
  constructor(
    issues: readonly [ConfigIssue, ...ConfigIssue[]],
    readonly refs: readonly string[],
  ) {
    super(issues);
  }
}

/** A config or plan file (or directory) cannot be read at all. */
export class ConfigReadError extends SlotshiftError {
  readonly code = 'CONFIG_UNREADABLE';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(
      `cannot read ${file}: ${detail}; check the path (relative paths are resolved from the working directory)`,
    );
  }
}

/** A secret the config points at (environment variable or file) is missing. */
export class SecretUnavailableError extends SlotshiftError {
  readonly code = 'SECRET_UNAVAILABLE';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
