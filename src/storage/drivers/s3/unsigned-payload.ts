import type { S3Client } from '@aws-sdk/client-s3';

/**
 * SigV4 signs a SHA-256 of the request body unless the request says `x-amz-content-sha256:
 * UNSIGNED-PAYLOAD`; the signer then uses that value instead of hashing (S3 accepts it on every
 * operation). For uploads that hash is a second full pass over every byte, next to the SHA-256 the
 * upload receipt needs, and over TLS it protects nothing TLS does not already: botocore (the AWS CLI)
 * sends S3 upload bodies unsigned over https for the same reason. Headers, method, path and query stay
 * signed, so the request is still authenticated.
 */
const BODY_OPERATIONS = new Set(['PutObjectCommand', 'UploadPartCommand']);

export function sendBodiesUnsigned(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const { headers } = args.request as { headers?: Record<string, string> };
      if (BODY_OPERATIONS.has(context.commandName ?? '') && headers) {
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    // Any build-step middleware runs before the signer (finalizeRequest) hashes the body.
    { step: 'build', name: 'stowageUnsignedPayload' },
  );
}
