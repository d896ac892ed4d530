import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOG_MODULE = pathToFileURL(
  join(import.meta.dirname, '..', '..', '..', 'dist', 'src', 'log', 'index.js'),
).href;

/** Runs `body` in a child process with a logger at info; resolves with its stderr and signal. */
function runWithLogger(body: string): Promise<{ stderr: string; signal: NodeJS.Signals | null }> {
  const script = `import { createLogger } from ${JSON.stringify(LOG_MODULE)};\nconst log = createLogger('info');\n${body}`;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      (_error, _stdout, stderr) => resolve({ stderr, signal: child.signalCode }),
    );
  });
}

describe('the log of a process that is killed', () => {
  it('holds the lines logged a second or more before a SIGKILL', async () => {
    const { stderr, signal } = await runWithLogger(
      "log.info({ slot: 42 }, 'slot moved');\nsetTimeout(() => process.kill(process.pid, 'SIGKILL'), 2500);",
    );
    expect(signal).toBe('SIGKILL');
    expect(stderr).toContain('"msg":"slot moved"');
    expect(stderr).toContain('"slot":42');
  });

  it('holds every line at a normal exit', async () => {
    const { stderr } = await runWithLogger(
      "for (let i = 0; i < 3; i++) log.info({ slot: i }, 'slot moved');",
    );
    expect(stderr.trim().split('\n')).toHaveLength(3);
  });
});
