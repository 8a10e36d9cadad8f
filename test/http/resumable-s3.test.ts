import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import type { ObjectMetadata } from '../../src/storage/driver.ts';
import { createCleanups } from '../../src/storage/drivers/s3/background-cleanups.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import {
  appendResumable,
  beginResumable,
  type ResumableState,
  resumableState,
  STATE_PREFIX,
  terminateResumable,
} from '../../src/storage/drivers/s3/resumable.ts';
import type { ResumableUpload } from '../../src/storage/resumable/store.ts';
import { newWriteId } from '../../src/storage/resumable/upload-id.ts';
import { contents } from '../support/backend.ts';
import { sha256 } from '../support/payloads.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * The S3 side of resumable uploads on real Ceph: every step starts from `resumableState` read back
 * from S3 (as a request to any instance would), chunks smaller than a part go through tails, and a
 * finished or terminated upload leaves only the object, or nothing.
 */
const MiB = 2 ** 20;
const PART = 5 * MiB;
const stowage = useStowage({
  buckets: ['r'],
  storages: (buckets) => ({
    r: { driver: 's3', bucket: buckets.r ?? '', partSize: '5MiB', maxFileSize: '100MiB' },
  }),
});

function context(): S3Context {
  const profile = stowage.config.storages.r as S3ProfileConfig;
  return {
    client: stowage.s3,
    bucket: profile.bucket,
    profile,
    connection: { requestTimeout: 30 },
    reservationTtlSeconds: 60,
    cleanups: createCleanups(60_000),
  } as unknown as S3Context;
}

const metadata: ObjectMetadata = { contentType: 'application/x-test', contentDisposition: 'attachment' };
const described: Buffer[] = [];
const describe_ = async (head: Buffer) => {
  described.push(Buffer.from(head.subarray(0, 16)));
  return metadata;
};

async function newUpload(length: number): Promise<ResumableUpload> {
  const upload = {
    key: `up/${randomBytes(8).toString('hex')}.bin`,
    writeId: newWriteId(),
    length,
    partSize: PART,
    expiresAt: Date.now() + 3600_000,
  };
  await beginResumable(context(), upload);
  return upload;
}

async function openState(upload: ResumableUpload) {
  const state = await resumableState(context(), upload);
  if (state.status !== 'open') throw new Error(`expected an open upload, got ${state.status}`);
  return state;
}

/** One PATCH: the state read afresh, the chunk appended through a part buffer of its own. */
async function patch(upload: ResumableUpload, chunk: Buffer) {
  return appendResumable(context(), {
    upload,
    state: await openState(upload),
    body: Readable.from([chunk]),
    buffer: Buffer.alloc(PART),
    describe: describe_,
  });
}

const stateKeysOf = async (upload: ResumableUpload) =>
  (await stowage.backend('r').keys(STATE_PREFIX)).filter((key) => key.includes(upload.key));

/** This upload's multipart uploads in progress (other tests leave theirs open on purpose). */
const leftoversOf = async (upload: ResumableUpload) =>
  (await contents(stowage.backend('r'))).leftovers.filter((key) => key === upload.key);

describe('resumable uploads on S3', () => {
  it('1 MiB chunks into 5 MiB parts: the offset read back after every chunk, bytes identical, nothing left', async () => {
    const data = randomBytes(12 * MiB + 12345);
    const upload = await newUpload(data.length);
    expect((await openState(upload)).offset).toBe(0);
    let last: Awaited<ReturnType<typeof patch>> | undefined;
    for (let start = 0; start < data.length; start += MiB) {
      last = await patch(upload, data.subarray(start, start + MiB));
      const end = Math.min(start + MiB, data.length);
      expect(last.offset).toBe(end);
      if (end < data.length) expect((await openState(upload)).offset).toBe(end);
    }
    expect(last?.finished?.etag).toMatch(/^".+"$/);
    const stored = await stowage.backend('r').object(upload.key);
    expect(sha256(stored.body)).toBe(sha256(data));
    expect(stored.contentType).toBe('application/x-test');
    // The type was decided once, from the first part's bytes: the upload's first bytes.
    expect(described.at(-1)).toEqual(data.subarray(0, 16));
    const state = await resumableState(context(), upload);
    expect(state.status).toBe('finished');
    expect((state as Extract<ResumableState, { status: 'finished' }>).info.size).toBe(data.length);
    expect(await stateKeysOf(upload)).toEqual([]);
    expect(await leftoversOf(upload)).toEqual([]);
  });

  it('one PATCH with the whole body (several parts) completes the upload', async () => {
    const data = randomBytes(11 * MiB);
    const upload = await newUpload(data.length);
    expect((await patch(upload, data)).finished).toBeDefined();
    expect(sha256((await stowage.backend('r').object(upload.key)).body)).toBe(sha256(data));
  });

  it('a body past Upload-Length is refused and nothing of it is kept', async () => {
    const upload = await newUpload(3 * MiB);
    await patch(upload, randomBytes(MiB));
    await expect(patch(upload, randomBytes(3 * MiB))).rejects.toMatchObject({ code: 'UPLOAD_PAST_LENGTH' });
    expect((await openState(upload)).offset).toBe(MiB);
  });

  it('a tail left by a request that died after its part (a stale tail) is not counted, and goes', async () => {
    const upload = await newUpload(7 * MiB);
    await patch(upload, randomBytes(PART + MiB)); // part 1 + a 1 MiB tail of part 2
    // What a request that wrote part 1 and died before replacing its tail leaves: tail 1 as well.
    await stowage.s3.send(
      new PutObjectCommand({
        Bucket: context().bucket,
        Key: `${STATE_PREFIX}${upload.key}/tail-00001`,
        Body: randomBytes(MiB),
      }),
    );
    const state = await openState(upload);
    expect(state.offset).toBe(PART + MiB);
    expect(state.staleTails).toEqual([`${STATE_PREFIX}${upload.key}/tail-00001`]);
    await patch(upload, randomBytes(MiB / 2));
    expect((await stateKeysOf(upload)).map((key) => key.slice(-5))).toEqual(['00002']);
  });

  it('a refused type (describe rejects) creates no multipart upload', async () => {
    const upload = await newUpload(PART);
    await expect(
      appendResumable(context(), {
        upload,
        state: await openState(upload),
        body: Readable.from([randomBytes(PART)]),
        buffer: Buffer.alloc(PART),
        describe: () => Promise.reject(new Error('refused')),
      }),
    ).rejects.toThrow('refused');
    expect((await openState(upload)).uploadId).toBeUndefined();
  });

  it('termination removes the multipart upload, the tails and the reservation: the upload is gone', async () => {
    const upload = await newUpload(20 * MiB);
    await patch(upload, randomBytes(PART + 123));
    await terminateResumable(context(), await openState(upload));
    expect((await resumableState(context(), upload)).status).toBe('gone');
    await expect(
      stowage.s3.send(new HeadObjectCommand({ Bucket: context().bucket, Key: upload.key })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    expect(await stateKeysOf(upload)).toEqual([]);
    expect(await leftoversOf(upload)).toEqual([]);
  });

  it('another upload id for the same key (another write id) finds it gone', async () => {
    const upload = await newUpload(PART);
    expect((await resumableState(context(), { ...upload, writeId: newWriteId() })).status).toBe('gone');
  });
});
