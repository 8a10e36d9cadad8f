import { describe, expect, it } from 'vitest';
import {
  createS3Clients,
  resolveS3Connection,
  streamsKnownLengths,
} from '../../src/storage/drivers/s3/connection.ts';
import type { S3Context } from '../../src/storage/drivers/s3/context.ts';
import { presignDirect } from '../../src/storage/drivers/s3/direct-sign.ts';

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };

describe('resolveS3Connection', () => {
  it('applies the defaults for AWS', () => {
    expect(resolveS3Connection({})).toEqual({
      region: 'us-east-1',
      forcePathStyle: false,
      checksums: 'when_supported',
      signPayload: false,
      connectTimeout: 3,
      requestTimeout: 30,
      maxAttempts: 3,
    });
  });

  it('defaults checksums to when_required whenever a custom endpoint is set', () => {
    expect(resolveS3Connection({ endpoint: 'http://ceph:7480' }).checksums).toBe('when_required');
    expect(resolveS3Connection({}, { endpoint: 'http://minio:9000' }).checksums).toBe('when_required');
    expect(resolveS3Connection({ endpoint: 'http://ceph:7480', checksums: 'when_supported' }).checksums).toBe(
      'when_supported',
    );
  });

  it('signs upload bodies over plain http only, unless told otherwise', () => {
    expect(resolveS3Connection({ endpoint: 'http://ceph:7480' }).signPayload).toBe(true);
    expect(resolveS3Connection({ endpoint: 'https://s3.example.com' }).signPayload).toBe(false);
    expect(resolveS3Connection({ endpoint: 'https://r2.example.com', signPayload: true }).signPayload).toBe(
      true,
    );
    expect(resolveS3Connection({ endpoint: 'http://ceph:7480' }, { signPayload: false }).signPayload).toBe(
      false,
    );
  });

  it('streams bodies of known length, signed or not, but not signed with the SDK checksums on', () => {
    const streams = (connection: Parameters<typeof resolveS3Connection>[0]) =>
      streamsKnownLengths(resolveS3Connection(connection));
    expect(streams({})).toBe(true);
    expect(streams({ endpoint: 'http://ceph:7480' })).toBe(true);
    expect(streams({ endpoint: 'https://s3.example.com', signPayload: false })).toBe(true);
    expect(streams({ endpoint: 'http://ceph:7480', checksums: 'when_supported' })).toBe(false);
    expect(streams({ signPayload: true })).toBe(false);
  });

  it('merges the override field by field', () => {
    const resolved = resolveS3Connection(
      { endpoint: 'http://internal:9000', region: 'eu-west-1', credentials, maxAttempts: 5 },
      { publicEndpoint: 'https://files.example.com', region: 'eu-central-1', forcePathStyle: true },
    );
    expect(resolved).toMatchObject({
      endpoint: 'http://internal:9000',
      publicEndpoint: 'https://files.example.com',
      region: 'eu-central-1',
      forcePathStyle: true,
      credentials,
      maxAttempts: 5,
    });
  });

  it('replaces credentials as a whole, never mixing two key pairs', () => {
    const other = { accessKeyId: 'AKIAOTHER', secretAccessKey: 'other', sessionToken: 'token' };
    expect(resolveS3Connection({ credentials }, { credentials: other }).credentials).toEqual(other);
  });

  it('is idempotent', () => {
    const once = resolveS3Connection({ endpoint: 'http://ceph:7480' }, { requestTimeout: 10 });
    expect(resolveS3Connection(once)).toEqual(once);
  });

  it('leaves unset optional fields absent (exactOptionalPropertyTypes)', () => {
    const resolved = resolveS3Connection({}, { endpoint: undefined } as never);
    expect('endpoint' in resolved).toBe(false);
    expect('credentials' in resolved).toBe(false);
  });
});

describe('createS3Clients', () => {
  it('configures both clients, signing URLs against the public endpoint', async () => {
    const { client, presignClient } = createS3Clients(
      resolveS3Connection({
        endpoint: 'http://internal:9000',
        publicEndpoint: 'https://files.example.com',
        forcePathStyle: true,
        credentials,
      }),
    );
    try {
      expect(await client.config.region()).toBe('us-east-1');
      expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
      const internal = await client.config.endpoint?.();
      const external = await presignClient.config.endpoint?.();
      expect(internal?.hostname).toBe('internal');
      expect(external?.hostname).toBe('files.example.com');
      expect(await presignClient.config.credentials()).toMatchObject(credentials);
    } finally {
      client.destroy();
      presignClient.destroy();
    }
  });

  it('uses WHEN_SUPPORTED checksums on AWS and the internal endpoint when there is no public one', async () => {
    const { client, presignClient } = createS3Clients(resolveS3Connection({ credentials }));
    try {
      expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
      expect(presignClient.config.endpoint).toBeUndefined();
      // Presigned uploads (direct/sign) carry no checksum of a body the signer never saw.
      expect(await presignClient.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await presignClient.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
    } finally {
      client.destroy();
      presignClient.destroy();
    }
  });
});

describe('presigned direct uploads on AWS (WHEN_SUPPORTED checksums)', () => {
  it('sign no checksum parameter into PutObject or UploadPart', async () => {
    const connection = resolveS3Connection({ credentials });
    const { client, presignClient } = createS3Clients(connection);
    const context = { presignClient, bucket: 'media', profile: { driver: 's3', bucket: 'media' } };
    try {
      for (const operation of [
        { op: 'PutObject' as const, key: 'k' },
        { op: 'UploadPart' as const, key: 'k', uploadId: 'u', partNumber: 1 },
      ]) {
        const { url } = await presignDirect(context as unknown as S3Context, operation, 60);
        const names = [...new URL(url).searchParams.keys()];
        expect(names.filter((name) => name.toLowerCase().includes('checksum'))).toEqual([]);
      }
    } finally {
      client.destroy();
      presignClient.destroy();
    }
  });
});
