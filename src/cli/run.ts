import { main } from './main.js';

// A reader that stops early (`slotshift plan | head`) closes the pipe: the rest of the output has
// nobody to read it. Drop it rather than die with a stack trace, and let the command finish: an
// `apply` piped into `head` must still close the slots it has in flight.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

const code = await main(process.argv);
// ioredis leaves a timer of about 2 s behind a refused connection; a CLI that has finished its work
// should not make the user wait for it. Exit only once stdout and stderr have flushed, so a large
// --json document written to a pipe is never cut short.
const flushed = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((r) => stream.write('', () => r()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
