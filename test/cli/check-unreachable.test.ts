import { createServer } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { checkS3Storage } from '../../src/cli/check-s3.ts';
import { s3Storages } from '../../src/cli/permissions.ts';
import { parseConfig } from '../../src/config/load.ts';
import { s3Connection } from '../support/stowage-process.ts';
import { useS3Proxy } from '../support/use-s3-proxy.ts';

/**
 * `check` when S3 cannot be reached: refused connections, reset connections and a server that accepts
 * connections but never answers all say "cannot reach S3" (not a permission or bucket problem), within
 * the check's deadline, and stop the check there.
 */
const proxy = useS3Proxy();

function storageAt(endpoint: string) {
  const config = parseConfig(
    {
      s3: { ...s3Connection(inject('s3')), endpoint, maxAttempts: 1 },
      storages: { files: { driver: 's3', bucket: 'any-bucket' } },
    },
    {},
  );
  const [storage] = s3Storages(config);
  if (!storage) throw new Error('no S3 storage');
  return storage;
}

const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('stowage check without a reachable S3', () => {
  it('names a refused connection as unreachable', async () => {
    const report = await checkS3Storage(storageAt(`http://127.0.0.1:${await closedPort()}`), 2000);
    expect(report.steps.bucket).toEqual({
      status: 'fail',
      problem: expect.stringMatching(/^cannot reach S3 at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/),
    });
    expect(report.steps.put.status).toBe('skip');
  });

  it('names a server that resets every connection as unreachable', async () => {
    await proxy.setMode('reset');
    try {
      const report = await checkS3Storage(storageAt(proxy.url), 2000);
      expect(report.steps.bucket).toEqual({
        status: 'fail',
        problem: expect.stringMatching(/^cannot reach S3 at http:\/\/127\.0\.0\.1:\d+ \(/),
      });
    } finally {
      await proxy.setMode('pass');
    }
  });

  it('names a server that never answers as unreachable, within the deadline', async () => {
    await proxy.setMode('stall');
    try {
      const started = Date.now();
      const report = await checkS3Storage(storageAt(proxy.url), 1000);
      expect(report.steps.bucket).toEqual({
        status: 'fail',
        problem: expect.stringMatching(/^cannot reach S3 at http:\/\/127\.0\.0\.1:\d+ \(/),
      });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await proxy.setMode('pass');
    }
  });
});
