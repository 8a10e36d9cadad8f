import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { S3ProfileConfig } from '../../src/config/schema.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { reserve } from '../../src/storage/drivers/s3/create-only.ts';
import { stowageApi } from '../support/api.ts';
import { useStowage } from '../support/stowage.ts';
import { useS3Proxy } from '../support/use-s3-proxy.ts';

/**
 * What one list call costs on S3, counted on the wire by a TCP proxy in front of Ceph: reservations
 * are recognised from the listing itself, so a page of entries that all have a reservation's size
 * is one ListObjectsV2 and no HeadObject per entry.
 */
const proxy = useS3Proxy();
const stowage = useStowage({
  buckets: ['files'],
  storages: (buckets) => ({
    files: { driver: 's3', bucket: buckets.files ?? '', s3: { endpoint: proxy.url } },
  }),
});
const api = stowageApi(stowage);

/** The request lines Stowage sent to S3 while `action` ran. */
async function sentRequests(action: () => Promise<void>): Promise<string[]> {
  const sent = new Map<number, string[]>();
  const stop = proxy.watchUp((data, connection) => {
    sent.set(connection, [...(sent.get(connection) ?? []), data.toString('latin1')]);
  });
  try {
    await action();
  } finally {
    stop();
  }
  return [...sent.values()].flatMap((chunks) =>
    [...chunks.join('').matchAll(/(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP\/1\.1\r\n/g)].map(
      (match) => `${match[1]} ${match[2]}`,
    ),
  );
}

/** Enough of an S3 context for reserve(): a direct client on the storage's bucket. */
function reservationContext(ttlSeconds: number): S3Context {
  const profile = stowage.config.storages.files as S3ProfileConfig;
  return {
    client: stowage.s3,
    bucket: profile.bucket,
    profile,
    reservationTtlSeconds: ttlSeconds,
  } as unknown as S3Context;
}

describe('listing on S3', () => {
  it('300 entries of a reservation size: one ListObjectsV2, no HEADs; reservations (taken over too) stay hidden', async () => {
    // 32 bytes: the size every reservation had before, and still a possible one.
    const keys = Array.from({ length: 300 }, (_, index) => `many/${String(index).padStart(3, '0')}.bin`);
    for (let start = 0; start < keys.length; start += 25) {
      await Promise.all(
        keys
          .slice(start, start + 25)
          .map((Key) =>
            stowage.s3.send(
              new PutObjectCommand({ Bucket: stowage.buckets.files, Key, Body: Buffer.alloc(32, Key) }),
            ),
          ),
      );
    }
    const live = await reserve(reservationContext(600), 'many/reserved.bin', 'w-live');
    const expired = await reserve(reservationContext(-1), 'many/taken-over.bin', 'w-dead');
    const takeover = await reserve(reservationContext(600), 'many/taken-over.bin', 'w-taker');
    expect(takeover.etag).not.toBe(expired.etag);
    expect(live.etag).toMatch(/./);

    let listed: string[] = [];
    const requests = await sentRequests(async () => {
      const { status, json } = await api.list('files', { prefix: 'many/', limit: '1000' });
      expect(status).toBe(200);
      listed = json.objects.map((object) => object.key);
    });
    expect(listed).toEqual(keys);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^GET \S*list-type=2/);
  });
});
