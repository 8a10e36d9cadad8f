import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { UndiciHttpHandler } from '@smithy/undici-http-handler';
import type { S3ConnectionConfig } from '../../../config/schema.ts';
import { sendStreamsChunkSigned } from './chunk-signed-payload.ts';
import { sendBodiesUnsigned } from './unsigned-payload.ts';

/** Connection settings with every default applied; still assignable to S3ConnectionConfig. */
export interface ResolvedS3Connection {
  endpoint?: string;
  publicEndpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: NonNullable<S3ConnectionConfig['credentials']>;
  checksums: 'when_supported' | 'when_required';
  /**
   * false: PutObject and UploadPart bodies are sent as UNSIGNED-PAYLOAD (unsigned-payload.ts); true:
   * signed, bodies in memory with their SHA-256, streamed ones in signed chunks (chunk-signed-payload.ts).
   */
  signPayload: boolean;
  /** Seconds. */
  connectTimeout: number;
  /** Seconds. */
  requestTimeout: number;
  maxAttempts: number;
}

export const connectionDefaults = {
  region: 'us-east-1',
  connectTimeout: 3,
  requestTimeout: 30,
  maxAttempts: 3,
} as const;

/** Connections per S3 origin and client; an upload uses up to queueSize of them. */
const MAX_CONNECTIONS = 64;

/**
 * Merges the shared connection with a storage's override, field by field (credentials as a whole: a
 * key id from one place and a secret from another is never meant), then applies the defaults. Idempotent,
 * so a connection that is already resolved passes through unchanged.
 */
export function resolveS3Connection(
  shared: S3ConnectionConfig,
  override?: S3ConnectionConfig,
): ResolvedS3Connection {
  const merged: S3ConnectionConfig = { ...shared };
  for (const [field, value] of Object.entries(override ?? {})) {
    if (value !== undefined) Object.assign(merged, { [field]: value });
  }
  const endpoint = merged.endpoint;
  return {
    ...(endpoint !== undefined && { endpoint }),
    ...(merged.publicEndpoint !== undefined && { publicEndpoint: merged.publicEndpoint }),
    region: merged.region ?? connectionDefaults.region,
    forcePathStyle: merged.forcePathStyle ?? false,
    ...(merged.credentials !== undefined && { credentials: { ...merged.credentials } }),
    // S3-compatible servers (Ceph, older MinIO, R2…) reject the SDK's default CRC32/aws-chunked bodies.
    checksums: merged.checksums ?? (endpoint !== undefined ? 'when_required' : 'when_supported'),
    // No endpoint = AWS over https.
    signPayload: merged.signPayload ?? (endpoint !== undefined && new URL(endpoint).protocol === 'http:'),
    connectTimeout: merged.connectTimeout ?? connectionDefaults.connectTimeout,
    requestTimeout: merged.requestTimeout ?? connectionDefaults.requestTimeout,
    maxAttempts: merged.maxAttempts ?? connectionDefaults.maxAttempts,
  };
}

/**
 * Whether bodies of known length may go to S3 as they arrive (put.ts, resumable.ts): unsigned, or in
 * signed chunks. Not with signed payloads and the SDK's checksums on (`when_supported`): the SDK then
 * frames a stream itself (aws-chunked with a checksum trailer, its body unsigned), and the two framings
 * do not combine, so such bodies are buffered and signed whole as before.
 */
export const streamsKnownLengths = (connection: ResolvedS3Connection): boolean =>
  !connection.signPayload || connection.checksums === 'when_required';

export interface S3Clients {
  /** Talks to S3 (internal endpoint). */
  client: S3Client;
  /**
   * Sends bodies streamed from the client as they arrive: the same connection pool and credentials,
   * but one attempt per request (a retry would resend a stream already consumed). Signed payloads go
   * as signed chunks.
   */
  streamClient: S3Client;
  /**
   * Signs URLs for clients. SigV4 signs the host, so it is configured with the endpoint clients will
   * use (publicEndpoint), and never sends a request itself.
   */
  presignClient: S3Client;
}

const toIdentity = ({
  accessKeyId,
  secretAccessKey,
  sessionToken,
}: NonNullable<S3ConnectionConfig['credentials']>) => ({
  accessKeyId,
  secretAccessKey,
  ...(sessionToken !== undefined && { sessionToken }),
});

/** The S3Client options for one resolved connection; exported for tests. */
export function s3ClientConfig(
  connection: ResolvedS3Connection,
  endpoint: string | undefined,
): S3ClientConfig {
  const checksums = connection.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const requestTimeout = connection.requestTimeout * 1000;
  return {
    region: connection.region,
    ...(endpoint !== undefined && { endpoint }),
    forcePathStyle: connection.forcePathStyle,
    // Absent credentials ⇒ the SDK's default provider chain (env, profile, web identity, IMDS…).
    ...(connection.credentials !== undefined && { credentials: toIdentity(connection.credentials) }),
    maxAttempts: connection.maxAttempts,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    // undici rather than the SDK's default node:http handler: the same bytes cost less CPU (measured in
    // bench/README.md), and its timeouts are the two this service needs.
    requestHandler: new UndiciHttpHandler({
      dispatcher: {
        connections: MAX_CONNECTIONS,
        connect: { timeout: connection.connectTimeout * 1000 },
        // Until S3 starts answering. Refreshed while the request body is being written, and fired when
        // S3 stops reading it: a server that stalls mid-upload fails instead of hanging.
        headersTimeout: requestTimeout,
        // Inactivity while S3 sends a body. Not armed while our reader applies backpressure, so a slow
        // downloading client never turns into an S3 timeout.
        bodyTimeout: requestTimeout,
      },
    }),
  };
}

export function createS3Clients(connection: ResolvedS3Connection): S3Clients {
  const client = new S3Client(s3ClientConfig(connection, connection.endpoint));
  if (!connection.signPayload) sendBodiesUnsigned(client);
  const streamClient = new S3Client({
    ...s3ClientConfig(connection, connection.endpoint),
    maxAttempts: 1,
    credentials: client.config.credentials,
    requestHandler: client.config.requestHandler,
  });
  if (!connection.signPayload) sendBodiesUnsigned(streamClient);
  else sendStreamsChunkSigned(streamClient);
  const presignClient = new S3Client({
    ...s3ClientConfig(connection, connection.publicEndpoint ?? connection.endpoint),
    // One credential provider (and cache) for both clients: temporary credentials refresh once.
    credentials: client.config.credentials,
    // Never a request checksum in a presigned upload URL: with WHEN_SUPPORTED the SDK signs in the
    // CRC32 of an empty body (`x-amz-checksum-crc32=AAAAAA==`), which every real upload then fails.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return { client, streamClient, presignClient };
}
