import { Readable } from 'node:stream';
import { PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { AppError } from '../../../errors.ts';
import type { PutResult } from '../../driver.ts';
import { abortReason, type BodyReader } from './body.ts';
import type { S3Context } from './context.ts';
import { outcomeUnknown, retractLateWrite } from './create-only.ts';
import { httpStatusOf, isConditionalConflict, isPreconditionFailed, toAppError } from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { signedWithHash } from './payload-hash.ts';
import type { QuickPutAnswer } from './quick-put.ts';
import { storedEtag } from './stored-etag.ts';

/**
 * Writes of one PutObject request: a body held in a part buffer (create-only or replacing), or a
 * known-length body streamed from the client as it arrives (create-only). Create-only writes are tagged
 * with their write id so one that lands after we gave up on it is retracted (create-only.ts).
 */

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One create-only PutObject (If-None-Match: *) of a body in memory: on the quick path first
 * (quick-put.ts), whose plain answers stand; anything else is sent again through the SDK. `sha256`:
 * the body's digest when the caller has it (payload-hash.ts), signed instead of hashing the body again.
 */
export async function putCreateOnly(
  context: S3Context,
  params: PutObjectCommandInput,
  data: Buffer,
  writeId: string,
  sha256?: string,
): Promise<PutResult> {
  const key = params.Key as string;
  const known = context.connection.signPayload ? sha256 : undefined;
  const quick = await quickCreateOnly(context, params, data, writeId, known);
  const etag = quick !== undefined ? quick.etag : await sdkCreateOnly(context, params, data, writeId, known);
  return { key, size: data.length, etag: await storedEtag(context, key, etag, writeId), replaced: false };
}

/** The quick path's answer: stored (its ETag), or undefined for the SDK; rejects as the SDK call would. */
async function quickCreateOnly(
  context: S3Context,
  params: PutObjectCommandInput,
  data: Buffer,
  writeId: string,
  sha256: string | undefined,
): Promise<{ etag: string | undefined } | undefined> {
  if (context.quickPut === undefined) return undefined;
  let answer: QuickPutAnswer;
  try {
    answer = await context.quickPut(params, data, sha256);
  } catch (error) {
    // A timeout (the only rejection): S3 may still carry the write out.
    const failure = toAppError(error, { operation: 'PutObject', createOnly: true });
    if (outcomeUnknown(failure)) void retractLateWrite(context, params.Key as string, writeId);
    throw failure;
  }
  if (answer === 'exists')
    throw toAppError(preconditionFailed(), { operation: 'PutObject', createOnly: true });
  return answer;
}

/** S3's 412 as the SDK reports it, for errors.ts to read like the SDK's own. */
const preconditionFailed = () =>
  Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
    name: 'PreconditionFailed',
    $metadata: { httpStatusCode: 412 },
  });

/** The SDK's PutObject; the ETag S3 answered. */
async function sdkCreateOnly(
  context: S3Context,
  params: PutObjectCommandInput,
  data: Buffer,
  writeId: string,
  sha256: string | undefined,
): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const output = await context.client.send(
        signedWithHash(
          new PutObjectCommand({ ...params, Body: data, ContentLength: data.length, IfNoneMatch: '*' }),
          sha256,
        ),
      );
      return output.ETag;
    } catch (error) {
      // 409: a concurrent conditional write is in flight (AWS). The body is in memory, so replay it:
      // the retry either wins or gets 412 once the other write has landed.
      if (isConditionalConflict(error) && attempt < 3) {
        await pause(100 * attempt);
        continue;
      }
      const failure = toAppError(error, { operation: 'PutObject', createOnly: true });
      if (outcomeUnknown(failure)) void retractLateWrite(context, params.Key as string, writeId);
      throw failure;
    }
  }
}

/**
 * One PutObject that may replace an object. With ifMatch, only that object (in the form this server
 * last accepted, then the other: see withIfMatch). Without, If-None-Match: * first so the answer
 * says whether something was replaced; a server without conditional writes (501) gets the plain write.
 * `sha256` as for putCreateOnly.
 */
export async function putReplacing(
  context: S3Context,
  params: PutObjectCommandInput,
  data: Buffer,
  ifMatch: string | undefined,
  sha256?: string,
): Promise<PutResult> {
  const key = params.Key as string;
  const known = context.connection.signPayload ? sha256 : undefined;
  const send = async (condition: { IfMatch?: string; IfNoneMatch?: string }) =>
    (
      await context.client.send(
        signedWithHash(
          new PutObjectCommand({ ...params, Body: data, ContentLength: data.length, ...condition }),
          known,
        ),
      )
    ).ETag;
  let etag: string | undefined;
  let replaced = true;
  try {
    if (ifMatch !== undefined)
      etag = await withIfMatch(ifMatch, (IfMatch) => send({ IfMatch }), context.client);
    else {
      try {
        etag = await send({ IfNoneMatch: '*' });
        replaced = false;
      } catch (error) {
        const status = httpStatusOf(error);
        if (!isPreconditionFailed(error) && !isConditionalConflict(error) && status !== 501) throw error;
        replaced = status !== 501;
        etag = await send({});
      }
    }
  } catch (error) {
    throw toAppError(error, { operation: 'PutObject' });
  }
  return { key, size: data.length, etag: await storedEtag(context, key, etag, undefined), replaced };
}

/**
 * One create-only PutObject whose body goes to S3 as it arrives: `contentLength` bytes on the client
 * that never retries (a stream cannot be replayed), unsigned or in signed chunks as the connection
 * says (chunk-signed-payload.ts), so no part buffer is held. S3 stores nothing unless all `contentLength` bytes arrive, so a body that fails
 * or is aborted midway leaves nothing. A 409 (another conditional write in flight, AWS) cannot be
 * replayed here and is answered WRITE_CONFLICT for the client to retry.
 */
export async function putStreamed(
  context: S3Context,
  params: PutObjectCommandInput,
  body: BodyReader,
  contentLength: number,
  writeId: string,
  signal: AbortSignal | undefined,
): Promise<PutResult> {
  const key = params.Key as string;
  let sent = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let chunk = await body.read(); chunk !== undefined; chunk = await body.read()) {
      sent += chunk.length;
      yield chunk;
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  // Failures reach us through send(); an 'error' event must never go unheard.
  stream.on('error', () => {});
  let etag: string | undefined;
  try {
    const output = await context.streamClient.send(
      new PutObjectCommand({ ...params, Body: stream, ContentLength: contentLength, IfNoneMatch: '*' }),
      signal && { abortSignal: signal },
    );
    etag = output.ETag;
  } catch (error) {
    stream.destroy();
    if (body.error !== undefined) throw body.error;
    if (signal?.aborted) throw abortReason(signal);
    if (isLengthMismatch(error)) {
      throw new AppError('BAD_REQUEST', 'The body length does not match its declared Content-Length', {
        details: { expected: contentLength, received: sent },
      });
    }
    const failure = toAppError(error, { operation: 'PutObject', createOnly: true });
    if (outcomeUnknown(failure)) void retractLateWrite(context, key, writeId);
    throw failure;
  }
  if (sent !== contentLength) {
    // S3 checks the length itself; this is for a server that did not.
    void retractLateWrite(context, key, writeId);
    throw new AppError('BAD_REQUEST', 'The body length does not match its declared Content-Length', {
      details: { expected: contentLength, received: sent },
    });
  }
  return { key, size: sent, etag: await storedEtag(context, key, etag, writeId), replaced: false };
}

/**
 * undici refuses to send a body that ends before (or runs past) its Content-Length; signed chunks
 * refuse one that disagrees with its decoded length (signed-chunks.ts) before undici could see it.
 */
const LENGTH_MISMATCH_CODES = new Set([
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'STOWAGE_DECODED_LENGTH_MISMATCH',
]);

function isLengthMismatch(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (LENGTH_MISMATCH_CODES.has((cause as { code?: unknown }).code as string)) return true;
  }
  return false;
}
