/**
 * The peer of the `tus` scenario: @tus/server with @tus/s3-store as their READMEs set them up (one
 * Node HTTP server, the store's default part size and concurrency, its in-memory locker and metadata
 * cache), on the bench's bucket with the bench's credentials. A child of the bench so its CPU and
 * memory are counted apart, like Stowage's.
 *
 *   node bench/relay/tus-peer.ts '{"bucket":…,"connection":{…},"handler":"undici"|"sdk"}'
 *
 * Prints its port; uploads go to /files. `handler`: "undici" gives the store's S3 client the very
 * configuration Stowage's own client and the direct path have (request handler, checksum mode,
 * timeouts), so the figures differ by the tus server only; "sdk" keeps the SDK's default node:http
 * handler, what an application using the store gets unless it opts in. The checksum mode is Stowage's
 * in both: Ceph rejects the SDK's default CRC32 trailers. The store spools each part to a file
 * under TMPDIR before sending it; the bench points TMPDIR at a directory of its own to watch it.
 */
import { createServer } from 'node:http';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';
import type { S3ConnectionConfig } from '../../src/config/schema.ts';
import { resolveS3Connection, s3ClientConfig } from '../../src/storage/drivers/s3/connection.ts';

const { bucket, connection, handler } = JSON.parse(process.argv[2] ?? '{}') as {
  bucket: string;
  connection: S3ConnectionConfig;
  handler: 'undici' | 'sdk';
};

const resolved = resolveS3Connection(connection);
const { requestHandler, ...withSdkHandler } = s3ClientConfig(resolved, resolved.endpoint);
const clientConfig: S3ClientConfig =
  handler === 'sdk' || requestHandler === undefined ? withSdkHandler : { ...withSdkHandler, requestHandler };

const tus = new Server({
  path: '/files',
  datastore: new S3Store({ s3ClientConfig: { ...clientConfig, bucket } }),
});
const server = createServer((request, response) => {
  void tus.handle(request, response);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
