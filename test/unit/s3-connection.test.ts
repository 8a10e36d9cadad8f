import { describe, expect, it } from 'vitest';
import { createS3Clients, resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';

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
    } finally {
      client.destroy();
      presignClient.destroy();
    }
  });
});
