export { bearerMatches } from './bearer.js';
export { startHttpServer, type HttpBackend, type HttpServer, type HttpServerOptions } from './server.js';
export * from './errors.js';
