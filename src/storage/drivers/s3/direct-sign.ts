import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DirectOperation, PresignedRequest } from '../../direct/port.ts';
import type { S3Context } from './context.ts';
import { toAppError } from './errors.ts';
import { encryptionParams } from './params.ts';
import { signPostPolicy } from './post-policy.ts';
import { bucketUrl, clampExpiry } from './urls.ts';

/**
 * Presigned S3 requests for direct uploads, sent by the client itself (Uppy's S3 client in
 * `signRequest` mode, or any fetch). Signed against the endpoint clients use (presignClient). Only the
 * headers the upload must carry are signed: the content type and length when the client declared
 * them (then S3 refuses a body of another length), the encryption headers a bucket policy may demand;
 * everything else is `host` only, so a browser's own headers do not break the signature.
 */
export async function presignDirect(
  context: S3Context,
  operation: DirectOperation,
  expiresInSeconds: number,
): Promise<PresignedRequest> {
  const { bucket: Bucket, presignClient } = context;
  const target = { Bucket, Key: operation.key };
  const encryption = encryptionParams(context.profile);
  // Only the requests that create the object carry its encryption and type (S3 refuses encryption
  // headers on UploadPart and the rest).
  const creates = operation.op === 'PutObject' || operation.op === 'CreateMultipartUpload';
  const headers: Record<string, string> = {};
  if (creates || operation.op === 'PostObject') {
    if (encryption.ServerSideEncryption !== undefined)
      headers['x-amz-server-side-encryption'] = encryption.ServerSideEncryption;
    if (encryption.SSEKMSKeyId !== undefined)
      headers['x-amz-server-side-encryption-aws-kms-key-id'] = encryption.SSEKMSKeyId;
  }
  if (operation.op === 'PostObject') return presignPost(context, operation, headers, expiresInSeconds);
  if (creates && operation.contentType !== undefined) headers['content-type'] = operation.contentType;
  type Options = Parameters<typeof getSignedUrl>[2];
  const sign = (options: Options) => {
    switch (operation.op) {
      case 'PutObject':
        return getSignedUrl(
          presignClient,
          new PutObjectCommand({
            ...target,
            ...encryption,
            ...(operation.contentType !== undefined && { ContentType: operation.contentType }),
            ...(operation.contentLength !== undefined && { ContentLength: operation.contentLength }),
          }),
          options,
        );
      case 'CreateMultipartUpload':
        return getSignedUrl(
          presignClient,
          new CreateMultipartUploadCommand({
            ...target,
            ...encryption,
            ...(operation.contentType !== undefined && { ContentType: operation.contentType }),
          }),
          options,
        );
      case 'UploadPart':
        return getSignedUrl(
          presignClient,
          new UploadPartCommand({
            ...target,
            UploadId: operation.uploadId,
            PartNumber: operation.partNumber,
          }),
          options,
        );
      case 'ListParts':
        return getSignedUrl(
          presignClient,
          new ListPartsCommand({ ...target, UploadId: operation.uploadId }),
          options,
        );
      case 'CompleteMultipartUpload':
        return getSignedUrl(
          presignClient,
          new CompleteMultipartUploadCommand({ ...target, UploadId: operation.uploadId }),
          options,
        );
      case 'AbortMultipartUpload':
        return getSignedUrl(
          presignClient,
          new AbortMultipartUploadCommand({ ...target, UploadId: operation.uploadId }),
          options,
        );
    }
  };
  try {
    const credentials = await presignClient.config.credentials();
    const expiresIn = clampExpiry(expiresInSeconds, Date.now(), credentials.expiration);
    const signed = new Set(Object.keys(headers));
    if (operation.op === 'PutObject' && operation.contentLength !== undefined) signed.add('content-length');
    const url = await sign({
      expiresIn,
      signableHeaders: signed,
      // Signed headers stay headers (the client sends them), not query parameters.
      unhoistableHeaders: signed,
    });
    return { url, headers };
  } catch (error) {
    throw toAppError(error, { operation: `Presign${operation.op}` });
  }
}

async function presignPost(
  context: S3Context,
  operation: Extract<DirectOperation, { op: 'PostObject' }>,
  encryptionFields: Record<string, string>,
  expiresInSeconds: number,
): Promise<PresignedRequest> {
  try {
    const credentials = await context.presignClient.config.credentials();
    const signingDate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const { url, fields } = signPostPolicy({
      bucketUrl: bucketUrl({ ...context.connection, bucket: context.bucket }),
      bucket: context.bucket,
      region: context.connection.region,
      credentials,
      key: operation.key,
      contentType: operation.contentType,
      minSize: operation.minSize,
      maxSize: operation.maxSize,
      expiresIn: clampExpiry(expiresInSeconds, signingDate.getTime(), credentials.expiration),
      signingDate,
      extraFields: encryptionFields,
    });
    return { url, headers: {}, fields };
  } catch (error) {
    throw toAppError(error, { operation: 'PresignPostObject' });
  }
}
