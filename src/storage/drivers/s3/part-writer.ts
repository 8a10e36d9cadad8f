import type { Readable } from 'node:stream';
import {
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCommand,
  type UploadPartCommandOutput,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { S3Context } from './context.ts';
import { cleanUpUpload, outcomeUnknown, type Reservation, reserve, retractLateWrite } from './create-only.ts';
import { isUnreachable, toAppError } from './errors.ts';
import { withIfMatch } from './if-match.ts';
import { storedEtag } from './stored-etag.ts';

/**
 * One S3 multipart upload, from its create-only reservation to completion or cleanup: the one place
 * every path that writes parts goes through — form files and raw PUTs longer than a part (put.ts),
 * resumable uploads' PATCHes (resumable.ts), and the promotion of a direct upload above 5 GiB, whose
 * parts are copied server-side (direct-promote.ts). What S3-compatible servers disagree on is handled
 * here:
 *
 * - **Create-only**: the key is reserved before CreateMultipartUpload (create-only.ts has the whole
 *   protocol): Ceph RGW ignores If-None-Match on CompleteMultipartUpload, so the completion is sent
 *   without it and only ever replaces our own reservation.
 * - **If-Match** (replacing one known object) goes on CompleteMultipartUpload, atomic where the server
 *   honours it (AWS; Ceph 16 ignores it, so put.ts looks at the key once more before completing).
 * - **Checksums**: with `checksums: when_supported` the SDK sends a CRC with every part; S3 then wants
 *   each part's checksum back in the completion, so whatever UploadPart returned is passed on.
 * - **Signed payloads**: a part in memory is signed with its SHA-256; a streamed part goes on the
 *   stream client as signed chunks (chunk-signed-payload.ts), so it is covered without being held.
 * - **ETag**: Ceph answers CompleteMultipartUpload with an empty one (stored-etag.ts).
 * - **Cleanup**: `abandon` aborts the upload, releases the reservation and retracts a completion whose
 *   outcome is unknown (create-only.ts), retried in the background when S3 is unreachable.
 */
export class PartWriter {
  readonly #context: S3Context;
  readonly #key: string;
  readonly #writeId: string | undefined;
  readonly #ifMatch: string | undefined;
  readonly #reservation: Reservation | undefined;
  readonly #uploadId: string | undefined;
  readonly #parts: CompletedPart[] = [];

  private constructor(
    context: S3Context,
    key: string,
    state: {
      writeId?: string;
      ifMatch?: string;
      reservation?: Reservation;
      uploadId?: string;
      parts?: CompletedPart[];
    },
  ) {
    this.#context = context;
    this.#key = key;
    this.#writeId = state.writeId;
    this.#ifMatch = state.ifMatch;
    this.#reservation = state.reservation;
    this.#uploadId = state.uploadId;
    if (state.parts) this.#parts.push(...state.parts);
  }

  /**
   * A writer for a multipart upload begun earlier, maybe by another instance (resumable uploads,
   * src/storage/drivers/s3/resumable.ts): its id, the reservation it replaces, the parts S3 has.
   */
  static resume(
    context: S3Context,
    key: string,
    state: { writeId: string; reservation: Reservation; uploadId: string; parts: CompletedPart[] },
  ): PartWriter {
    return new PartWriter(context, key, state);
  }

  /**
   * Reserves the key (create-only: `writeId` set) and creates the multipart upload with the object's
   * params (Body ignored). Whatever fails on the way is cleaned up before this rejects.
   */
  static async begin(
    context: S3Context,
    params: PutObjectCommandInput,
    options: {
      writeId?: string | undefined;
      ifMatch?: string | undefined;
      signal?: AbortSignal | undefined;
      /** The key is reserved already (a resumable upload reserves it at creation). */
      reserved?: Reservation | undefined;
    },
  ): Promise<PartWriter> {
    const key = params.Key as string;
    const { writeId, ifMatch, signal, reserved } = options;
    let reservation: Reservation | undefined = reserved;
    try {
      if (writeId !== undefined && reservation === undefined)
        reservation = await reserve(context, key, writeId);
    } catch (error) {
      // A reservation that lands late would hold the key for its whole TTL.
      if (writeId !== undefined && outcomeUnknown(error)) void retractLateWrite(context, key, writeId);
      throw error;
    }
    const { Body: _body, ContentLength: _length, ...createParams } = params;
    try {
      signal?.throwIfAborted();
      const created = await context.client.send(
        new CreateMultipartUploadCommand(createParams),
        signal && { abortSignal: signal },
      );
      return new PartWriter(context, key, {
        ...(writeId !== undefined && { writeId }),
        ...(ifMatch !== undefined && { ifMatch }),
        ...(reservation !== undefined && { reservation }),
        ...(created.UploadId !== undefined && { uploadId: created.UploadId }),
      });
    } catch (error) {
      const failure = signal?.aborted
        ? signal.reason
        : toAppError(error, { operation: 'CreateMultipartUpload', createOnly: writeId !== undefined });
      // A reservation made earlier is the resumable upload's own: it outlives this request, and an
      // upload created without our hearing of it is found (and used) by the next request.
      if (reserved !== undefined) throw failure;
      const unknown = outcomeUnknown(failure);
      // The upload's id was lost with the answer: cleanUpUpload finds it under the reserved key.
      await settle(
        cleanUpUpload(context, {
          key,
          uploadId: undefined,
          reservation,
          lateWriteId: unknown ? writeId : undefined,
        }),
        failure,
      );
      throw failure;
    }
  }

  get uploadId(): string | undefined {
    return this.#uploadId;
  }

  /** Sends part `partNumber` (1-based; 10,000 at most). Parts may be sent in parallel and in any order. */
  uploadPart(partNumber: number, body: Buffer, signal?: AbortSignal): Promise<void> {
    return this.#sendPart(this.#context.client, partNumber, body, body.length, signal);
  }

  /**
   * Sends part `partNumber` from a stream of exactly `length` bytes as they arrive, on the client that
   * never retries (a stream cannot be replayed; streamed-part.ts), unsigned or in signed chunks. S3
   * keeps no part whose body ended short, so a part that fails midway is simply not there: ListParts
   * decides what counts.
   */
  uploadPartStreamed(
    partNumber: number,
    body: Readable,
    length: number,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.#sendPart(this.#context.streamClient, partNumber, body, length, signal);
  }

  /**
   * Copies bytes `first`…`last` (inclusive) of `copySource` (`bucket/key`, URL-encoded) as part
   * `partNumber`, server-side, only while the source's ETag is `etag` (in the If-Match form the
   * server takes; not every server applies it, see direct-promote.ts).
   */
  async copyPart(
    partNumber: number,
    source: { copySource: string; etag: string; first: number; last: number },
  ): Promise<void> {
    const copied = await withIfMatch(source.etag, (CopySourceIfMatch) =>
      this.#context.client.send(
        new UploadPartCopyCommand({
          Bucket: this.#context.bucket,
          Key: this.#key,
          UploadId: this.#uploadId,
          PartNumber: partNumber,
          CopySource: source.copySource,
          CopySourceRange: `bytes=${source.first}-${source.last}`,
          CopySourceIfMatch,
        }),
      ),
    ).catch((error: unknown) => {
      throw toAppError(error, { operation: 'UploadPartCopy' });
    });
    this.#parts.push(completedPart(partNumber, copied.CopyPartResult ?? {}));
  }

  async #sendPart(
    client: S3Client,
    partNumber: number,
    body: Buffer | Readable,
    length: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let output: UploadPartCommandOutput;
    try {
      output = await client.send(
        new UploadPartCommand({
          Bucket: this.#context.bucket,
          Key: this.#key,
          UploadId: this.#uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: length,
        }),
        signal && { abortSignal: signal },
      );
    } catch (error) {
      throw signal?.aborted ? signal.reason : toAppError(error, { operation: 'UploadPart' });
    }
    this.#parts.push(completedPart(partNumber, output));
  }

  /** Completes the upload from the parts sent; resolves with the stored object's quoted ETag. */
  async complete(signal?: AbortSignal): Promise<string> {
    const parts = [...this.#parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    let etag: string | undefined;
    try {
      signal?.throwIfAborted();
      const output = await this.#context.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#context.bucket,
          Key: this.#key,
          UploadId: this.#uploadId,
          MultipartUpload: { Parts: parts },
          ...(this.#ifMatch !== undefined && { IfMatch: this.#ifMatch }),
        }),
      );
      etag = output.ETag;
    } catch (error) {
      throw signal?.aborted
        ? signal.reason
        : toAppError(error, {
            operation: 'CompleteMultipartUpload',
            createOnly: this.#writeId !== undefined,
          });
    }
    return storedEtag(this.#context, this.#key, etag, this.#writeId);
  }

  /**
   * Cleans up after `failure` (see create-only.ts): waits for the cleanup when S3 answers, so nothing is
   * left once the client has its answer; lets it run on its own when S3 is what failed (waiting would
   * cost a request timeout per step). Never rejects.
   */
  abandon(failure: unknown): Promise<void> {
    const cleanup = cleanUpUpload(this.#context, {
      key: this.#key,
      uploadId: this.#uploadId,
      reservation: this.#reservation,
      // The failure may be S3's answer to a completion that never came: it may still complete.
      lateWriteId: outcomeUnknown(failure) ? this.#writeId : undefined,
    });
    return settle(cleanup, failure);
  }
}

/** A part as the completion names it: its ETag, and whatever checksum S3 answered for it. */
function completedPart(partNumber: number, answer: Omit<CompletedPart, 'PartNumber'>): CompletedPart {
  return {
    PartNumber: partNumber,
    ETag: answer.ETag,
    ...(answer.ChecksumCRC32 !== undefined && { ChecksumCRC32: answer.ChecksumCRC32 }),
    ...(answer.ChecksumCRC32C !== undefined && { ChecksumCRC32C: answer.ChecksumCRC32C }),
    ...(answer.ChecksumCRC64NVME !== undefined && { ChecksumCRC64NVME: answer.ChecksumCRC64NVME }),
    ...(answer.ChecksumSHA1 !== undefined && { ChecksumSHA1: answer.ChecksumSHA1 }),
    ...(answer.ChecksumSHA256 !== undefined && { ChecksumSHA256: answer.ChecksumSHA256 }),
  };
}

const settle = (cleanup: Promise<void>, failure: unknown): Promise<void> =>
  isUnreachable(failure) ? Promise.resolve() : cleanup;
