import { SlotshiftError } from '../errors/index.js';

const WHY: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another slotshift daemon, or another program, listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host',
};

/** The daemon's HTTP API cannot listen on its address; nothing has started. */
export class HttpListenError extends SlotshiftError {
  readonly code = 'HTTP_LISTEN_FAILED';
  constructor(
    readonly address: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(
      `cannot serve the HTTP API on ${address}: ${(cause.code && WHY[cause.code]) ?? cause.message}; ` +
        'set http.listen in the config file, or --listen, to a free HOST:PORT',
      { cause },
    );
  }
}
