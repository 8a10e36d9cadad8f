import type { Server, ServerOptions } from 'node:http';
import type { Config } from '../config/schema.ts';

/**
 * Slow-loris guards on the Node server. Node enforces `headersTimeout` (and `requestTimeout`) only
 * when it sweeps its connection list, every `connectionsCheckingInterval` — 30 s by default — so a
 * 10 s headers deadline really cut a one-byte-per-second client at ~30 s. Sweeping every half second
 * makes the configured deadline hold to within that; the sweep walks the open connections in C++,
 * which the connection cap keeps bounded.
 */
const CHECK_INTERVAL_MS = 500;

/** Options for `http.createServer` (fastify's `http` option): they cannot be changed after creation. */
export const httpServerOptions = (): ServerOptions => ({ connectionsCheckingInterval: CHECK_INTERVAL_MS });

/**
 * Deadlines and the connection cap, set on the created server. Past `server.maxConnections` Node
 * closes each new connection as soon as it is accepted, without reading or answering anything (a
 * client sees the connection closed): one more socket costs an attacker nothing, but it no longer
 * costs us a file descriptor and a parser either.
 */
export function limitConnections(server: Server, config: Config['server']): void {
  server.headersTimeout = config.headersTimeout * 1000;
  server.maxConnections = config.maxConnections;
}
