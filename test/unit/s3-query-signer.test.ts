import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import type { S3ConnectionConfig } from '../../src/config/schema.ts';
import { createS3Clients, resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';
import { createQuerySigner } from '../../src/storage/drivers/s3/query-signer.ts';
import { bucketUrl } from '../../src/storage/drivers/s3/urls.ts';

/**
 * The driver's own SigV4 query signer must sign exactly what the SDK's presigner signs for the same
 * inputs and time: same URL, byte for byte, for the addressing styles, checksum modes, session
 * tokens, awkward keys and pinned response headers Stowage uses.
 */

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const signingDate = new Date('2026-12-03T10:11:12Z');

async function both(
  shared: S3ConnectionConfig,
  bucket: string,
  input: { key: string; expiresIn: number; type?: string; disposition?: string },
) {
  const connection = resolveS3Connection(shared);
  const { client, presignClient } = createS3Clients(connection);
  try {
    const sdk = await getSignedUrl(
      presignClient,
      new GetObjectCommand({
        Bucket: bucket,
        Key: input.key,
        ...(input.disposition !== undefined && { ResponseContentDisposition: input.disposition }),
        ...(input.type !== undefined && { ResponseContentType: input.type }),
      }),
      { expiresIn: input.expiresIn, signingDate },
    );
    const sign = createQuerySigner({
      bucketUrl: bucketUrl({ ...connection, bucket }),
      region: connection.region,
      checksumMode: connection.checksums === 'when_supported',
    });
    const own = sign({
      key: input.key,
      expiresIn: input.expiresIn,
      signingDate,
      credentials: await presignClient.config.credentials(),
      responseContentType: input.type,
      responseContentDisposition: input.disposition,
    });
    return { sdk, own };
  } finally {
    client.destroy();
    presignClient.destroy();
  }
}

const ceph: S3ConnectionConfig = {
  endpoint: 'http://127.0.0.1:7480',
  forcePathStyle: true,
  credentials,
};

describe('query signer against the SDK presigner', () => {
  const keys = [
    'a.png',
    'uploads/2026/a b+c&d=e.txt',
    "odd/!'()*~_-.txt",
    'unicode/Überweisung März 🎉.pdf',
    'q?hash#percent%semi;colon:comma,at@.bin',
  ];

  it.each(keys)('path-style custom endpoint: %s', async (key) => {
    const { sdk, own } = await both(ceph, 'media', { key, expiresIn: 600 });
    expect(own).toBe(sdk);
  });

  it('pins the response type and an RFC 5987 disposition', async () => {
    const { sdk, own } = await both(ceph, 'media', {
      key: 'x/report.pdf',
      expiresIn: 3600,
      type: 'application/pdf',
      disposition: `inline; filename="Uberweisung Marz.pdf"; filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.pdf`,
    });
    expect(own).toBe(sdk);
    expect(new URL(own).searchParams.get('response-content-type')).toBe('application/pdf');
  });

  it('signs for the public endpoint, virtual-hosted or path-style, with an endpoint path and port', async () => {
    for (const [connection, prefix] of [
      [
        { ...ceph, endpoint: 'http://internal:7480', publicEndpoint: 'https://s3.example.com' },
        'https://s3.example.com/media/a/b.jpg?',
      ],
      [
        { ...ceph, forcePathStyle: false, publicEndpoint: 'https://s3.example.com:8443' },
        'https://media.s3.example.com:8443/a/b.jpg?',
      ],
      [
        { ...ceph, endpoint: 'https://gw.example.com:9000/s3' },
        'https://gw.example.com:9000/s3/media/a/b.jpg?',
      ],
    ] as const) {
      const { sdk, own } = await both(connection, 'media', { key: 'a/b.jpg', expiresIn: 60 });
      expect(own, JSON.stringify(connection)).toBe(sdk);
      expect(own.startsWith(prefix), own).toBe(true);
    }
  });

  it('AWS addressing and checksum mode (when_supported), in and out of us-east-1', async () => {
    for (const region of ['us-east-1', 'eu-west-1']) {
      const { sdk, own } = await both({ region, credentials }, 'media', { key: 'k/a.png', expiresIn: 900 });
      expect(own, region).toBe(sdk);
      expect(new URL(own).searchParams.get('x-amz-checksum-mode')).toBe('ENABLED');
    }
    const forced = await both({ region: 'eu-west-1', forcePathStyle: true, credentials }, 'media', {
      key: 'k',
      expiresIn: 900,
    });
    expect(forced.own).toBe(forced.sdk);
  });

  it('carries and signs a session token', async () => {
    const { sdk, own } = await both(
      { ...ceph, credentials: { ...credentials, sessionToken: 'FwoGZXIvYXdzE+/token==' } },
      'media',
      { key: 'a.png', expiresIn: 600, type: 'image/png' },
    );
    expect(own).toBe(sdk);
    expect(new URL(own).searchParams.get('X-Amz-Security-Token')).toBe('FwoGZXIvYXdzE+/token==');
  });

  it('a different secret, day or key gives a different signature (the cached key is not reused wrongly)', async () => {
    const sign = createQuerySigner({
      bucketUrl: 'http://127.0.0.1:7480/media',
      region: 'us-east-1',
      checksumMode: false,
    });
    const signature = (overrides: Partial<Parameters<typeof sign>[0]>) =>
      new URL(sign({ key: 'a', expiresIn: 60, signingDate, credentials, ...overrides })).searchParams.get(
        'X-Amz-Signature',
      );
    const first = signature({});
    expect(signature({})).toBe(first);
    expect(signature({ credentials: { ...credentials, secretAccessKey: 'other' } })).not.toBe(first);
    expect(signature({ signingDate: new Date('2026-12-04T10:11:12Z') })).not.toBe(first);
    expect(signature({})).toBe(first);
    expect(signature({ key: 'b' })).not.toBe(first);
  });
});
