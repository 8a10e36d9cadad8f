/**
 * The least any proxy can do: relay TCP bytes both ways, no HTTP parsing, no logging, no checks
 * (`node bench/relay/tcp-relay.ts <target host> <target port>`; prints its port). A child of the
 * bench so its CPU is counted apart, like Stowage's.
 */
import { connect, createServer } from 'node:net';

const [host = '127.0.0.1', port = '7480'] = process.argv.slice(2);

const server = createServer({ noDelay: true }, (downstream) => {
  const upstream = connect({ host, port: Number(port), noDelay: true });
  downstream.pipe(upstream).on('error', () => downstream.destroy());
  upstream.pipe(downstream).on('error', () => upstream.destroy());
  downstream.on('error', () => upstream.destroy());
  upstream.on('error', () => downstream.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
