import { pino, type Logger } from 'pino';
import { InvalidOptionError } from '../errors/index.js';

/** The levels pino knows, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const isLogLevel = (level: string): level is LogLevel => (LOG_LEVELS as readonly string[]).includes(level);

/**
 * SLOTSHIFT_LOG_LEVEL, checked; undefined when unset or empty. Checked by every command before it
 * runs (main.ts): pino refuses an unknown level only when a logger is made, which ended `apply` with
 * an unexpected error and went unnoticed by the commands that log little.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel | undefined {
  const given = env['SLOTSHIFT_LOG_LEVEL'];
  if (given === undefined || given === '') return undefined;
  if (isLogLevel(given)) return given;
  throw new InvalidOptionError(
    'SLOTSHIFT_LOG_LEVEL',
    `"${given}" is not a log level; set it to one of ${LOG_LEVELS.join('|')}, or unset it for info`,
  );
}

const FLUSH_EVERY_MS = 1_000;

/**
 * The one root logger. Secrets are redacted by path so a password that reaches a log binding by
 * accident still prints as [Redacted]. Logs go to stderr: stdout carries command output and --json.
 */
export function createLogger(level: string = logLevelFromEnv() ?? 'info'): Logger {
  // Buffered (flushed at 4 KB, on exit by pino, and every FLUSH_EVERY_MS): apply logs a line per
  // slot, and one write per line was about a second of an 8,000-slot move when stderr is a pipe. The
  // timer bounds what a SIGKILL can take to the last second of lines; the queue Redis, not the log,
  // is what a resumed run reads.
  const destination = pino.destination({ dest: 2, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Not ready yet (still opening) or already closed at exit: the next tick or exit flushes.
    }
  }, FLUSH_EVERY_MS).unref();
  return pino(
    {
      name: 'slotshift',
      level,
      redact: {
        paths: [
          'password',
          '*.password',
          '*.*.password',
          'connection.password',
          'options.password',
          'token',
          '*.token',
        ],
        censor: '[Redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
