import { main } from './main.js';

const code = await main(process.argv);
// ioredis leaves a timer of about 2 s behind a refused connection; a CLI that has finished its
// work should not make the user wait for it. stdout/stderr are synchronous for files and pipes on
// Linux, so nothing written is lost by exiting here.
process.exit(code);
