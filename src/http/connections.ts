import type { Server, ServerOptions } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
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

/** While the cap keeps refusing, one warning a minute (with the count so far), not one per connection. */
const DROP_WARNING_INTERVAL_MS = 60_000;

/**
 * Deadlines and the connection cap, set on the created server. Past `server.maxConnections` Node
 * closes each new connection as soon as it is accepted, without reading or answering anything (a
 * client sees the connection closed): one more socket costs an attacker nothing, but it no longer
 * costs us a file descriptor and a parser either. The operator hears of it in the log.
 */
export function limitConnections(server: Server, config: Config['server'], log: FastifyBaseLogger): void {
  server.headersTimeout = config.headersTimeout * 1000;
  server.maxConnections = config.maxConnections;
  let dropped = 0;
  let quietUntil = 0;
  server.on('drop', () => {
    dropped += 1;
    if (Date.now() < quietUntil) return;
    quietUntil = Date.now() + DROP_WARNING_INTERVAL_MS;
    log.warn(
      { maxConnections: config.maxConnections, dropped },
      `server.maxConnections (${config.maxConnections}) reached: new connections are closed unanswered (${dropped} so far)`,
    );
  });
}
