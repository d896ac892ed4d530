import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from '../../harness/cli.js';

/**
 * `slotshift ... | head` closes the pipe before slotshift has written everything. Before, the next
 * write raised an unhandled EPIPE and the user saw a Node stack trace after head's lines.
 */
describe('output into a pipe its reader has closed', () => {
  it('ends quietly with the command exit code, no stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'daemon', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI has loaded, so every line of the help meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled 'error' event/);
    expect(code).toBe(0);
  });
});
