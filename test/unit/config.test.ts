import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { formatSize, parseDurationSeconds, parseSize } from '../../src/config/units.ts';

const problemsOf = (document: unknown, env: Record<string, string> = {}): readonly string[] => {
  try {
    parseConfig(document, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('sizes and durations', () => {
  it('reads IEC and SI units exactly', () => {
    expect(parseSize('50MiB')).toBe(50 * 2 ** 20);
    expect(parseSize('50MB')).toBe(50_000_000);
    expect(parseSize('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize(7)).toBe(7);
  });
  it('refuses malformed sizes', () => {
    for (const bad of ['50 MeB', 'mb', '-1MiB', '50mib', '', '1e3'])
      expect(parseSize(bad), bad).toBeUndefined();
  });
  it('reads durations in seconds; a bare number is seconds', () => {
    expect(parseDurationSeconds('15m')).toBe(900);
    expect(parseDurationSeconds('1h')).toBe(3600);
    expect(parseDurationSeconds('7d')).toBe(604_800);
    expect(parseDurationSeconds('30')).toBe(30);
    expect(parseDurationSeconds('soon')).toBeUndefined();
  });
  it('formats sizes for messages', () => {
    expect(formatSize(50 * 2 ** 20)).toBe('50 MiB');
    expect(formatSize(1000)).toBe('1000 B');
  });
});

describe('config', () => {
  const minimal = { storages: { media: { driver: 's3', bucket: 'media-bucket' } } };

  it('applies defaults a production operator would expect', () => {
    const config = parseConfig(minimal, {});
    const media = config.storages.media;
    expect(media?.overwrite).toBe(false);
    expect(media?.access).toBe('private');
    expect(media?.maxFileSize).toBe(50 * 2 ** 20);
    expect(media?.presign).toEqual({ defaultTtl: 900, maxTtl: 3600 });
    expect(media?.driver === 's3' && media.acl).toBeUndefined();
    expect(config.server.host).toBe('127.0.0.1');
  });

  it('interpolates ${VAR} and ${VAR:-default}, and HOST/PORT override the listen address', () => {
    const config = parseConfig(
      {
        s3: { region: '${AWS_REGION:-us-east-1}', endpoint: '${AWS_ENDPOINT_URL_S3:-}' },
        storages: { media: { driver: 's3', bucket: '${MEDIA_BUCKET}' } },
      },
      { MEDIA_BUCKET: 'from-env', HOST: '0.0.0.0', PORT: '9000' },
    );
    expect(config.storages.media?.driver === 's3' && config.storages.media.bucket).toBe('from-env');
    expect(config.s3.region).toBe('us-east-1');
    expect(config.s3.endpoint).toBeUndefined();
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 9000 });
  });

  it('treats a credentials block with every variable unset as absent (default provider chain)', () => {
    const config = parseConfig(
      {
        s3: {
          credentials: {
            accessKeyId: '${AWS_ACCESS_KEY_ID:-}',
            secretAccessKey: '${AWS_SECRET_ACCESS_KEY:-}',
          },
        },
        ...minimal,
      },
      {},
    );
    expect(config.s3.credentials).toBeUndefined();
  });

  it('lists every problem at once, each naming the storage and the field', () => {
    const problems = problemsOf({
      storages: {
        media: { driver: 's3', bucket: '${MEDIA_BUCKET}', maxFileSize: '5 MeB', presign: { maxTtl: '8d' } },
        private: { driver: 's3', bucket: 'Not_A_Bucket', allowedTypes: ['image'], partSize: '1MiB' },
        exports: { driver: 'ftp' },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'storages.media.bucket: environment variable MEDIA_BUCKET is not set',
        expect.stringMatching(/^storages\.media\.maxFileSize: invalid size "5 MeB"/),
        expect.stringMatching(/^storages\.media\.presign\.maxTtl: must be at most 7d/),
        expect.stringMatching(/^storages\.private\.bucket: /),
        expect.stringMatching(/^storages\.private\.allowedTypes\.0: /),
        expect.stringMatching(/^storages\.private\.partSize: must be at least 5MiB/),
        expect.stringMatching(/^storages\.exports\.driver: /),
      ]),
    );
    expect(problems.filter((problem) => problem.startsWith('storages.media.bucket'))).toHaveLength(1);
  });

  it('refuses a part size too small for the file size limit (S3 allows 10 000 parts)', () => {
    const problems = problemsOf({
      storages: { big: { driver: 's3', bucket: 'big-bucket', maxFileSize: '100GiB', partSize: '5MiB' } },
    });
    expect(problems).toEqual([expect.stringMatching(/^storages\.big\.partSize: too small for maxFileSize/)]);
  });

  it('refuses unknown fields instead of silently ignoring a typo', () => {
    expect(
      problemsOf({ storages: { media: { driver: 's3', bucket: 'media-bucket', maxFilesize: '1MiB' } } }),
    ).toEqual([expect.stringMatching(/^storages\.media: .*maxFilesize/)]);
  });

  it('needs at least one storage', () => {
    expect(problemsOf({ storages: {} })).toEqual([expect.stringMatching(/^storages: at least one storage/)]);
  });
});
