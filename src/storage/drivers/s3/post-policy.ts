import { ALGORITHM, amzDate, createSigningKeys, hmacHex, SERVICE, type SigningCredentials } from './sigv4.ts';

/**
 * A SigV4 POST policy (browser form upload straight to the bucket): the only presigned single
 * request with which S3 itself enforces a size *range* (`content-length-range`), so a body over
 * `maxFileSize` is refused before it is stored. The policy pins the bucket, the exact key, the type
 * when one was declared, and an expiry; the form's fields are what the client posts with the file.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */

export interface PostPolicyInput {
  /** Where the form is posted: the bucket's URL as clients reach it (urls.ts bucketUrl). */
  bucketUrl: string;
  bucket: string;
  region: string;
  credentials: SigningCredentials;
  key: string;
  /** Exact when declared; else any type (finalize sniffs it). */
  contentType?: string | undefined;
  /** Inclusive byte bounds S3 enforces. */
  minSize: number;
  maxSize: number;
  expiresIn: number;
  /** Whole seconds. */
  signingDate: Date;
  /** Encryption headers a bucket policy may demand, as form fields. */
  extraFields?: Record<string, string>;
}

export function signPostPolicy(input: PostPolicyInput): { url: string; fields: Record<string, string> } {
  const longDate = amzDate(input.signingDate);
  const day = longDate.slice(0, 8);
  const { credentials } = input;
  const fields: Record<string, string> = {
    key: input.key,
    ...(input.contentType !== undefined && { 'Content-Type': input.contentType }),
    ...input.extraFields,
    'x-amz-algorithm': ALGORITHM,
    'x-amz-credential': `${credentials.accessKeyId}/${day}/${input.region}/${SERVICE}/aws4_request`,
    'x-amz-date': longDate,
    ...(credentials.sessionToken !== undefined && { 'x-amz-security-token': credentials.sessionToken }),
  };
  const policy = {
    expiration: new Date(input.signingDate.getTime() + input.expiresIn * 1000).toISOString(),
    conditions: [
      { bucket: input.bucket },
      ['content-length-range', input.minSize, input.maxSize],
      ...Object.entries(fields).map(([name, value]) => ({ [name]: value })),
      // Every field posted must be in the policy: without a declared type, the form may carry the
      // file's own (finalize sniffs it either way).
      ...(input.contentType === undefined ? [['starts-with', '$Content-Type', '']] : []),
    ],
  };
  const encoded = Buffer.from(JSON.stringify(policy)).toString('base64');
  const signature = hmacHex(createSigningKeys(input.region)(day, credentials), encoded);
  return {
    url: input.bucketUrl,
    fields: { ...fields, policy: encoded, 'x-amz-signature': signature },
  };
}
