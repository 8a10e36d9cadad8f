import { Buffer } from 'node:buffer';
import {
  type CompletedPart,
  CompleteMultipartUploadCommand,
  type CompleteMultipartUploadCommandOutput,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/**
 * A streamed multipart upload: lib-storage's `Upload` as Stowage uses it (same requests, same
 * parameters, same failure behaviour), with one difference: parts are assembled in buffers that are
 * reused from part to part, instead of a fresh partSize buffer per part (lib-storage's Buffer.concat).
 * Every fresh buffer costs page faults as it is filled and an unmap plus garbage-collector pressure when
 * it is dropped — per GiB uploaded, 128 allocations of 8 MiB; on the benchmark machine that was a
 * second of CPU per GiB. At most queueSize + 1 buffers exist per upload: one filling, the rest in flight.
 *
 * Behaviour kept from lib-storage (leavePartsOnError: true): a body of one part is a PutObject; a body
 * or part failure rejects done() once the parts in flight have settled, and nothing is aborted here
 * (the caller aborts `uploadId`); with checksums `WHEN_SUPPORTED` the upload declares CRC32 and the
 * completion lists each part's checksum.
 */

const MAX_PARTS = 10_000;

export interface MultipartUploadOptions {
  client: S3Client;
  params: Omit<PutObjectCommandInput, 'Body'> & { Body: AsyncIterable<Uint8Array> };
  partSize: number;
  queueSize: number;
}

export class MultipartUpload {
  /** Set once CreateMultipartUpload answered; the caller aborts it on failure. */
  uploadId: string | undefined;
  readonly #options: MultipartUploadOptions;
  #created: Promise<string> | undefined;

  constructor(options: MultipartUploadOptions) {
    this.#options = options;
  }

  async done(): Promise<CompleteMultipartUploadCommandOutput | { ETag?: string | undefined }> {
    const { client, params, partSize, queueSize } = this.#options;
    const { Body: body, ...objectParams } = params;
    const parts: CompletedPart[] = [];
    const spare: Buffer[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let partNumber = 0;
    let current: Buffer | undefined;
    let filled = 0;

    const uploadPart = async (data: Buffer, number: number): Promise<void> => {
      const UploadId = await this.#create(objectParams);
      const output = await client.send(
        new UploadPartCommand({
          ...objectParams,
          ContentLength: undefined,
          UploadId,
          PartNumber: number,
          Body: data,
        }),
      );
      if (!output.ETag) throw new Error(`Part ${number} is missing ETag in UploadPart response.`);
      parts.push({
        PartNumber: number,
        ETag: output.ETag,
        ...(output.ChecksumCRC32 && { ChecksumCRC32: output.ChecksumCRC32 }),
        ...(output.ChecksumCRC32C && { ChecksumCRC32C: output.ChecksumCRC32C }),
        ...(output.ChecksumCRC64NVME && { ChecksumCRC64NVME: output.ChecksumCRC64NVME }),
        ...(output.ChecksumSHA1 && { ChecksumSHA1: output.ChecksumSHA1 }),
        ...(output.ChecksumSHA256 && { ChecksumSHA256: output.ChecksumSHA256 }),
      });
    };
    /** Sends `data` as the next part, once fewer than queueSize parts are in flight. */
    const dispatch = async (data: Buffer): Promise<void> => {
      while (inFlight.size >= queueSize && !failure) await Promise.race(inFlight);
      if (failure) throw failure.error;
      const number = ++partNumber;
      if (number > MAX_PARTS) throw new Error(`Exceeded ${MAX_PARTS} parts in multipart upload.`);
      const sending: Promise<void> = uploadPart(data, number).then(
        () => {
          spare.push(data);
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    };

    try {
      for await (const chunk of body) {
        if (failure) throw failure.error;
        let offset = 0;
        while (offset < chunk.length) {
          // A full buffer is sent once more bytes follow, so a body of one part stays a PutObject.
          if (current !== undefined && filled === partSize) {
            const full = current;
            current = undefined;
            filled = 0;
            await dispatch(full);
          }
          current ??= spare.pop() ?? Buffer.allocUnsafeSlow(partSize);
          const take = Math.min(chunk.length - offset, partSize - filled);
          current.set(take === chunk.length ? chunk : chunk.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
        }
      }
      const last = current?.subarray(0, filled) ?? Buffer.alloc(0);
      // One part at most: a plain PutObject, as lib-storage does.
      if (partNumber === 0) return await client.send(new PutObjectCommand({ ...objectParams, Body: last }));
      if (last.length > 0) await dispatch(last);
    } catch (error) {
      failure ??= { error };
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    return client.send(
      new CompleteMultipartUploadCommand({
        ...objectParams,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  }

  #create(objectParams: Omit<PutObjectCommandInput, 'Body'>): Promise<string> {
    this.#created ??= (async () => {
      const { client } = this.#options;
      const checksums = await client.config.requestChecksumCalculation();
      const output = await client.send(
        new CreateMultipartUploadCommand({
          ...objectParams,
          ...(checksums === 'WHEN_SUPPORTED' && {
            ChecksumAlgorithm: objectParams.ChecksumAlgorithm ?? 'CRC32',
          }),
        }),
      );
      this.uploadId = output.UploadId;
      return output.UploadId as string;
    })();
    return this.#created;
  }
}
