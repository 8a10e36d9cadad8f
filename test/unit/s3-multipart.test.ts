import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { MultipartUpload } from '../../src/storage/drivers/s3/multipart.ts';

/** A stand-in S3 client that records what the uploader sends (the real server is in the contract suite). */
function fakeClient(options: { failPart?: number; checksums?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED' } = {}) {
  const calls: Array<{ name: string; input: Record<string, unknown> }> = [];
  const parts = new Map<number, string>();
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    config: { requestChecksumCalculation: async () => options.checksums ?? 'WHEN_REQUIRED' },
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ name, input: command.input });
      if (name === 'CreateMultipartUpload') return { UploadId: 'upload-1' };
      if (name === 'UploadPart') {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const body = command.input.Body as Buffer;
        // Hash now: a buffer reused before its part is answered would show as a wrong digest.
        const digest = createHash('sha256').update(body).digest('hex');
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        const number = command.input.PartNumber as number;
        if (number === options.failPart)
          throw Object.assign(new Error('part failed'), { name: 'InternalError' });
        parts.set(number, createHash('sha256').update(body).digest('hex'));
        if (parts.get(number) !== digest) throw new Error(`part ${number} changed while in flight`);
        return { ETag: `"etag-${number}"`, ChecksumCRC32: `crc-${number}` };
      }
      if (name === 'CompleteMultipartUpload') return { ETag: '"complete"' };
      if (name === 'PutObject') return { ETag: '"single"' };
      throw new Error(`unexpected ${name}`);
    },
  };
  return { client: client as unknown as S3Client, calls, parts, maxInFlight: () => maxInFlight };
}

const data = (size: number) => Buffer.from(Array.from({ length: size }, (_, index) => (index * 7) % 251));

async function* chunks(buffer: Buffer, size: number, failAt?: number) {
  for (let offset = 0; offset < buffer.length; offset += size) {
    if (failAt !== undefined && offset >= failAt) throw new Error('body failed');
    yield buffer.subarray(offset, offset + size);
  }
}

const params = { Bucket: 'b', Key: 'k', ContentType: 'application/octet-stream' };
const sha = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');

describe('MultipartUpload', () => {
  it('sends partSize parts in order, at most queueSize at a time, and completes with their ETags', async () => {
    const fake = fakeClient();
    const body = data(100_000);
    const upload = new MultipartUpload({
      client: fake.client,
      params: { ...params, Body: chunks(body, 3_000) },
      partSize: 10_000,
      queueSize: 2,
    });
    expect((await upload.done()).ETag).toBe('"complete"');
    expect(upload.uploadId).toBe('upload-1');
    expect(fake.maxInFlight()).toBeLessThanOrEqual(2);
    expect([...fake.parts.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const [number, digest] of fake.parts)
      expect(digest).toBe(sha(body.subarray((number - 1) * 10_000, number * 10_000)));
    const complete = fake.calls.find((call) => call.name === 'CompleteMultipartUpload')!;
    expect(complete.input).toMatchObject({ ...params, UploadId: 'upload-1' });
    expect((complete.input.MultipartUpload as { Parts: unknown[] }).Parts).toEqual(
      Array.from({ length: 10 }, (_, index) => ({
        PartNumber: index + 1,
        ETag: `"etag-${index + 1}"`,
        ChecksumCRC32: `crc-${index + 1}`,
      })),
    );
    expect(fake.calls.find((call) => call.name === 'CreateMultipartUpload')!.input).toEqual(params);
  });

  it('sends a short last part, and a body of exactly one part as a PutObject', async () => {
    const fake = fakeClient();
    const body = data(25_001);
    await new MultipartUpload({
      client: fake.client,
      params: { ...params, Body: chunks(body, 4_096) },
      partSize: 10_000,
      queueSize: 4,
    }).done();
    expect(fake.parts.get(3)).toBe(sha(body.subarray(20_000)));

    const single = fakeClient();
    const result = await new MultipartUpload({
      client: single.client,
      params: { ...params, Body: chunks(data(10_000), 5_000) },
      partSize: 10_000,
      queueSize: 4,
    }).done();
    expect(result.ETag).toBe('"single"');
    expect(single.calls.map((call) => call.name)).toEqual(['PutObject']);
    expect(sha(single.calls[0]!.input.Body as Buffer)).toBe(sha(data(10_000)));
  });

  it('declares CRC32 on the upload when checksums are WHEN_SUPPORTED', async () => {
    const fake = fakeClient({ checksums: 'WHEN_SUPPORTED' });
    await new MultipartUpload({
      client: fake.client,
      params: { ...params, Body: chunks(data(30_000), 10_000) },
      partSize: 10_000,
      queueSize: 4,
    }).done();
    expect(fake.calls.find((call) => call.name === 'CreateMultipartUpload')!.input.ChecksumAlgorithm).toBe(
      'CRC32',
    );
  });

  it('rejects with the body’s error once the parts in flight settled, and does not complete or abort', async () => {
    const fake = fakeClient();
    const upload = new MultipartUpload({
      client: fake.client,
      params: { ...params, Body: chunks(data(100_000), 5_000, 45_000) },
      partSize: 10_000,
      queueSize: 3,
    });
    await expect(upload.done()).rejects.toThrow('body failed');
    expect(upload.uploadId).toBe('upload-1');
    const names = fake.calls.map((call) => call.name);
    expect(names).not.toContain('CompleteMultipartUpload');
    expect(names).not.toContain('AbortMultipartUpload');
    expect(fake.parts.size).toBe(names.filter((name) => name === 'UploadPart').length);
  });

  it('rejects with a part’s error and stops reading the body', async () => {
    const fake = fakeClient({ failPart: 2 });
    let read = 0;
    async function* counted() {
      for await (const chunk of chunks(data(200_000), 10_000)) {
        read += chunk.length;
        yield chunk;
      }
    }
    await expect(
      new MultipartUpload({
        client: fake.client,
        params: { ...params, Body: counted() },
        partSize: 10_000,
        queueSize: 2,
      }).done(),
    ).rejects.toThrow('part failed');
    expect(read).toBeLessThan(200_000);
    expect(fake.calls.map((call) => call.name)).not.toContain('CompleteMultipartUpload');
  });
});
