import { hash } from 'node:crypto';
import type { PutObjectCommand } from '@aws-sdk/client-s3';

/**
 * One SHA-256 pass over an uploaded body where one is enough (issue 16 point 4). With signed payloads
 * SigV4 signs `x-amz-content-sha256`, the body's SHA-256; the upload receipt needs the same digest
 * (the intake's Meter). For a body that goes to S3 as ONE PutObject the two cover the same bytes, so
 * the Meter's digest, handed down (PutInput.sha256), is what the request is signed with. A multipart
 * upload cannot share it: each part is signed with its own hash, the receipt has the whole object's.
 */

/** The value of `x-amz-content-sha256` for `data`: the digest already made, else one made now. */
export const payloadSha256 = (data: Buffer, known: string | undefined): string =>
  known ?? hash('sha256', data);

/**
 * Has the SDK sign `command` with this payload hash instead of hashing the body again:
 * @smithy/signature-v4 takes a request's own `x-amz-content-sha256` header as the payload hash
 * (its getPayloadHash) and keeps the header. Build step: before the signer (finalizeRequest). Not for
 * a connection that sends bodies unsigned (unsigned-payload.ts sets UNSIGNED-PAYLOAD there).
 */
export function signedWithHash<T extends PutObjectCommand>(command: T, sha256: string | undefined): T {
  if (sha256 === undefined) return command;
  command.middlewareStack.add(
    (next) => (args) => {
      const { headers } = args.request as { headers?: Record<string, string> };
      if (headers) headers['x-amz-content-sha256'] = sha256;
      return next(args);
    },
    { step: 'build', name: 'stowageKnownPayloadHash' },
  );
  return command;
}
