import { describe, expect, it } from 'vitest';
import { runCli } from '../../harness/cli.js';

const ALLOWED = 'fatal|error|warn|info|debug|trace|silent';

describe('SLOTSHIFT_LOG_LEVEL', () => {
  // Nothing listens on port 1: a command that got past the check would fail there, differently.
  const seed = '127.0.0.1:1';
  const queue = 'redis://127.0.0.1:1';
  const commands: Record<string, string[]> = {
    status: ['status', '--seed', seed],
    fix: ['fix', '--seed', seed, '--yes'],
    apply: ['apply', '--seed', seed, '--queue', queue, '--use-empty-masters', '--yes'],
    worker: ['worker', '--queue', queue],
    progress: ['progress', '--queue', queue],
    daemon: ['daemon', '-c', 'config/slotshift.yaml'],
  };

  it.each(Object.entries(commands))(
    'an unknown level is bad input for %s: exit 2, naming the levels, before anything runs',
    async (_name, args) => {
      const r = await runCli(args, { SLOTSHIFT_LOG_LEVEL: 'bogus' }, 30_000);
      expect(r.stderr).toContain(
        `SLOTSHIFT_LOG_LEVEL: "bogus" is not a log level; set it to one of ${ALLOWED}`,
      );
      expect(r.stderr).not.toContain('unexpected error');
      expect(r.code).toBe(2);
    },
  );

  it('a known level is taken', async () => {
    const r = await runCli(commands['status']!, { SLOTSHIFT_LOG_LEVEL: 'debug' }, 30_000);
    expect(r.stderr).toContain('cannot connect to 127.0.0.1:1');
    expect(r.stderr).not.toContain('SLOTSHIFT_LOG_LEVEL');
  });
});
