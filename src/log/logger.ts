import { pino, type Logger } from 'pino';

/**
 * The one root logger. Secrets are redacted by path so a password that reaches a log binding by
 * accident still prints as [Redacted]. Logs go to stderr: stdout carries command output and --json.
 */
export function createLogger(level: string = process.env['SLOTSHIFT_LOG_LEVEL'] ?? 'info'): Logger {
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
    // Buffered (flushed at 4 KB and on exit by pino): apply logs a line per slot, and one write per
    // line was about a second of an 8,000-slot move when stderr is a pipe. A SIGKILL may lose the
    // last few lines; the queue Redis, not the log, is what a resumed run reads.
    pino.destination({ dest: 2, sync: false, minLength: 4096 }),
  );
}

export type { Logger };
