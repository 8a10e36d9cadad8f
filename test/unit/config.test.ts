import { describe, expect, it } from 'vitest';
import { describeAccess } from '../../src/auth/describe-access.ts';
import { embeddedDefaultConfig } from '../../src/config/defaults.ts';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.ts';
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

  it('server.trustProxy: a boolean, or the proxies to believe by address, CIDR or named range', () => {
    const server = (trustProxy: unknown) => ({ ...minimal, server: { trustProxy } });
    expect(parseConfig(minimal, {}).server.trustProxy).toBe(false);
    expect(parseConfig(server('true'), {}).server.trustProxy).toBe(true);
    expect(parseConfig(server(['10.0.0.0/8', '192.0.2.7', '::1', 'loopback']), {}).server.trustProxy).toEqual(
      ['10.0.0.0/8', '192.0.2.7', '::1', 'loopback'],
    );
    for (const bad of [['proxy.example.com'], ['10.0.0.0/33'], [], 'sometimes'])
      expect(problemsOf(server(bad)).join('\n'), JSON.stringify(bad)).toContain('server.trustProxy');
  });

  it('server.publicBaseUrl: an http(s) URL', () => {
    const server = (publicBaseUrl: unknown) => ({ ...minimal, server: { publicBaseUrl } });
    expect(parseConfig(server('https://files.example.com'), {}).server.publicBaseUrl).toBe(
      'https://files.example.com',
    );
    expect(problemsOf(server('ftp://files.example.com')).join('\n')).toContain('server.publicBaseUrl');
  });

  it('applies defaults a production operator would expect', () => {
    const config = parseConfig(minimal, {});
    const media = config.storages.media;
    expect(media?.overwrite).toBe(false);
    expect(media?.access).toBe('private');
    expect(media?.maxFileSize).toBe(50 * 2 ** 20);
    expect(media?.presign).toEqual({ defaultTtl: 900, maxTtl: 3600, check: 'head' });
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

  it('refuses two storages whose keys overlap (same bucket or directory, one prefix inside the other), naming both', () => {
    const s3 = (bucket: string, prefix?: string) => ({ driver: 's3', bucket, ...(prefix && { prefix }) });
    expect(
      problemsOf({ storages: { media: s3('shared-bucket'), private: s3('shared-bucket', 'private/') } }),
    ).toEqual([
      expect.stringMatching(
        /^storages\.private\.prefix: overlaps storage "media" \(bucket "shared-bucket" with prefixes "" and "private\/"\)/,
      ),
    ]);
    expect(
      problemsOf({ storages: { a: s3('shared-bucket', 'x/y/'), b: s3('shared-bucket', 'x/') } }),
    ).toEqual([expect.stringMatching(/^storages\.b\.prefix: overlaps storage "a"/)]);
    // Same directory (explicit, or root + name), or one directory inside the other.
    expect(
      problemsOf({
        local: { root: '/srv/stowage' },
        storages: {
          media: { driver: 'local', access: 'public' },
          private: { driver: 'local', directory: '/srv/stowage/media', prefix: 'private/' },
          nested: { driver: 'local', directory: '/srv/stowage/media/objects/p' },
        },
      }),
    ).toEqual([
      expect.stringMatching(
        /^storages\.private\.prefix: overlaps storage "media" \(directory \/srv\/stowage\/media with prefixes/,
      ),
      expect.stringMatching(
        /^storages\.nested\.prefix: overlaps storage "media" \(directories .* \(one within the other\)/,
      ),
      expect.stringMatching(/^storages\.nested\.prefix: overlaps storage "private"/),
    ]);
    // Apart: other buckets, prefixes neither of which contains the other, sibling directories.
    expect(
      problemsOf({
        local: { root: '/srv/stowage' },
        storages: {
          media: s3('shared-bucket', 'media/'),
          private: s3('shared-bucket', 'private/'),
          other: s3('other-bucket'),
          files: { driver: 'local' },
          scratch: { driver: 'local' },
          beside: { driver: 'local', directory: '/srv/stowage/files-2' },
        },
      }),
    ).toEqual([]);
  });
});

describe('the example config', () => {
  const path = new URL('../../stowage.example.yaml', import.meta.url).pathname;
  const env = {
    MEDIA_BUCKET: 'media',
    PRIVATE_BUCKET: 'private',
    EXPORTS_BUCKET: 'exports',
    STOWAGE_API_KEY_HASH: `sha256:${'a'.repeat(64)}`,
  };

  it('loads with only the bucket names and a key hash; JWT and CORS stay off while unset', async () => {
    const config = await loadConfigFile(path, env);
    expect(Object.keys(config.storages)).toEqual(['media', 'private', 'exports']);
    expect(config.storages.media?.access).toBe('public');
    expect(config.auth.apiKeys.map((key) => key.name)).toEqual(['backend']);
    expect(config.auth.jwt).toBeUndefined();
    expect(config.auth.cors).toBeUndefined();
    expect(config.auth.anonymousGrants).toEqual([]);
    expect(config.s3.credentials).toBeUndefined();
  });

  it('turns JWT and CORS on from the environment', async () => {
    const config = await loadConfigFile(path, {
      ...env,
      JWT_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://auth.example.com/',
      JWT_AUDIENCE: 'stowage',
      CORS_ORIGIN: 'https://app.example.com',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.auth.jwt).toMatchObject({ issuer: 'https://auth.example.com/', audience: 'stowage' });
    expect(config.auth.cors?.origins).toEqual(['https://app.example.com']);
    expect(config.s3.credentials).toEqual({ accessKeyId: 'AKIA', secretAccessKey: 'secret' });
  });

  it('names every missing variable', async () => {
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({
      problems: expect.arrayContaining([
        'auth.apiKeys.0.hash: environment variable STOWAGE_API_KEY_HASH is not set',
        'storages.media.bucket: environment variable MEDIA_BUCKET is not set',
      ]),
    });
  });
});

describe('access settings', () => {
  const storages = { media: { driver: 'local' } };

  it('refuse anonymous write access on a non-loopback address unless said explicitly', () => {
    expect(problemsOf({ storages, server: { host: '0.0.0.0' }, auth: { anonymousGrants: ['*:*'] } })).toEqual(
      [
        expect.stringMatching(
          /^auth\.anonymousGrants: grants \*:\* to anyone without credentials on 0\.0\.0\.0/,
        ),
      ],
    );
    expect(
      problemsOf({
        storages,
        server: { host: '0.0.0.0' },
        auth: { anonymousGrants: ['*:*'], allowAnonymousWrites: true },
      }),
    ).toEqual([]);
    expect(
      problemsOf({ storages, server: { host: '127.0.0.1' }, auth: { anonymousGrants: ['*:*'] } }),
    ).toEqual([]);
  });

  it('anonymous reads of a private storage need the same opt-in, and are OPEN at startup', () => {
    const mixed = { media: { driver: 'local', access: 'public' }, docs: { driver: 'local' } };
    const on = (host: string, anonymousGrants: string[], allowAnonymousWrites = false) => ({
      storages: mixed,
      server: { host },
      auth: { anonymousGrants, allowAnonymousWrites },
    });
    for (const grants of [['*:read'], ['docs:read']])
      expect(problemsOf(on('0.0.0.0', grants)), grants.join()).toEqual([
        expect.stringMatching(
          /^auth\.anonymousGrants: grants .*:read to anyone without credentials on 0\.0\.0\.0/,
        ),
      ]);
    expect(problemsOf(on('0.0.0.0', ['*:read'], true))).toEqual([]);
    // Reading a public storage is open to anyone anyway: granting it changes nothing.
    expect(problemsOf(on('0.0.0.0', ['media:read']))).toEqual([]);
    const open = parseConfig(on('0.0.0.0', ['*:read'], true), {});
    expect(describeAccess(open)).toMatch(/^access: OPEN — anonymous requests may \*:read/);
    expect(describeAccess(parseConfig(on('0.0.0.0', ['media:read']), {}))).not.toContain('OPEN');
  });

  it('the embedded default is open only because it listens on loopback; HOST=0.0.0.0 makes it refuse', () => {
    expect(parseConfig(embeddedDefaultConfig, {}).auth.anonymousGrants).toEqual(['*:*']);
    expect(() => parseConfig(embeddedDefaultConfig, { HOST: '0.0.0.0' })).toThrow(/allowAnonymousWrites/);
  });

  it('the embedded default allows loopback origins on any port; CORS_ORIGINS replaces them in any config', () => {
    expect(parseConfig(embeddedDefaultConfig, {}).auth.cors?.origins).toEqual([
      'http://localhost:*',
      'http://127.0.0.1:*',
      'http://[::1]:*',
    ]);
    const env = { CORS_ORIGINS: ' https://app.example.test, http://localhost:* ,' };
    expect(parseConfig(embeddedDefaultConfig, env).auth.cors?.origins).toEqual([
      'https://app.example.test',
      'http://localhost:*',
    ]);
    expect(parseConfig({ storages }, env).auth.cors).toMatchObject({
      origins: ['https://app.example.test', 'http://localhost:*'],
    });
    expect(problemsOf({ storages }, { CORS_ORIGINS: 'ftp://files.example.test' })).toHaveLength(1);
  });

  it('validates grants, key hashes, JWT and CORS settings', () => {
    const problems = problemsOf({
      storages,
      auth: {
        apiKeys: [
          { name: 'a', hash: 'sha256:abc', grants: ['media:admin'] },
          { name: 'a', hash: `sha256:${'0'.repeat(64)}`, grants: ['*:*'] },
        ],
        jwt: { issuer: 'x', audience: 'y' },
        cors: { origins: ['*'], credentials: true },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^auth\.apiKeys\.0\.hash: /),
        expect.stringMatching(/^auth\.apiKeys\.0\.grants\.0: /),
        'auth.jwt: set exactly one of secret and jwksUrl',
        'auth.cors.origins: "*" cannot be combined with credentials: list the origins',
      ]),
    );
  });

  it('owner prefixes need a claim placeholder', () => {
    expect(problemsOf({ storages: { docs: { driver: 'local', ownerPrefix: 'users/' } } })).toEqual([
      expect.stringMatching(/^storages\.docs\.ownerPrefix: /),
    ]);
    expect(
      problemsOf({ storages: { docs: { driver: 'local', ownerPrefix: 'tenants/{tenant}/users/{sub}/' } } }),
    ).toEqual([]);
  });
});
