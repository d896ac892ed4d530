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
    pino.destination(2),
  );
}

export type { Logger };
