import type { Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parseAddress } from '../cluster/index.js';
import { bearerMatches } from './bearer.js';
import { HttpListenError } from './errors.js';

/** What the HTTP API needs from the daemon; the daemon implements it, the server knows nothing else of it. */
export interface HttpBackend {
  status(): Promise<object>;
  /**
   * Ready when the queue and the cluster answer and the plan files load; `checks` says which does
   * not, `reason` why (when known).
   */
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean>; reason?: string }>;
  pause(): Promise<object>;
  resume(): Promise<object>;
  cancel(): Promise<object>;
  readonly registry: Registry;
  /** Shown read-only under /queues: changes go through the token-protected endpoints. */
  readonly queue: Queue;
}

export interface HttpServerOptions {
  /** HOST:PORT; port 0 picks a free one (tests). */
  readonly listen: string;
  /** Bearer token of POST /pause, /resume, /cancel; null disables them (403). */
  readonly token: string | null;
  readonly log: Logger;
}

export interface HttpServer {
  /** The address actually bound, e.g. `127.0.0.1:9187`. */
  readonly address: string;
  close(): Promise<void>;
}

/** GET /healthz /readyz /status /metrics /queues, POST /pause /resume /cancel. */
export async function startHttpServer(backend: HttpBackend, options: HttpServerOptions): Promise<HttpServer> {
  const app = express();
  app.disable('x-powered-by');

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: [new BullMQAdapter(backend.queue, { readOnlyMode: true })],
    serverAdapter: board,
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get(
    '/readyz',
    handle(async (_req, res) => {
      const r = await backend.ready();
      res.status(r.ready ? 200 : 503).json(r);
    }),
  );
  app.get(
    '/status',
    handle(async (_req, res) => {
      res.json(await backend.status());
    }),
  );
  app.get(
    '/metrics',
    handle(async (_req, res) => {
      res.type(backend.registry.contentType).send(await backend.registry.metrics());
    }),
  );
  app.use('/queues', board.getRouter() as express.Router);

  const control = (action: 'pause' | 'resume' | 'cancel') =>
    handle(async (req, res) => {
      if (options.token === null) {
        res.status(403).json({ error: 'no API token is configured (http.tokenEnv or http.tokenFile)' });
        return;
      }
      if (!bearerMatches(req.get('authorization'), options.token)) {
        res
          .status(401)
          .set('WWW-Authenticate', 'Bearer')
          .json({ error: 'missing or wrong token; send Authorization: Bearer <token>' });
        return;
      }
      options.log.info({ action, remote: req.ip }, 'control request');
      res.json(await backend[action]());
    });
  app.post('/pause', control('pause'));
  app.post('/resume', control('resume'));
  app.post('/cancel', control('cancel'));

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    options.log.warn({ err }, 'http request failed');
    res.status(500).json({ error: err instanceof Error ? err.message : String(err) });
  });

  // Port 0 (a free port, for tests) is valid here though never as a cluster node's address.
  const { host, port } = options.listen.endsWith(':0')
    ? { ...parseAddress(`${options.listen.slice(0, -2)}:1`), port: 0 }
    : parseAddress(options.listen);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) =>
      err ? reject(new HttpListenError(options.listen, err)) : resolve(s),
    );
  });
  const bound = server.address();
  const address =
    bound && typeof bound === 'object'
      ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
      : options.listen;
  return {
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections (a scraper, a browser on /queues) would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** Express 5 forwards rejected promises to the error handler; this keeps the handlers typed as async. */
function handle(
  fn: (req: Request, res: Response) => Promise<void>,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}
