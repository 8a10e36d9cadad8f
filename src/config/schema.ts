import { z } from 'zod';
import { openAnonymousGrants } from '../auth/open-access.ts';
import { authSchema } from './auth-schema.ts';
import { boolField, durationField, modeField, optionalDurationField, sizeField } from './fields.ts';
import { overlap } from './locations.ts';

/**
 * The one config schema. Parsing turns the operator's file (after ${VAR} interpolation) into the
 * resolved config the app runs on: sizes in bytes, durations in seconds, connection settings merged
 * per storage. Every problem is reported with its path (e.g. `storages.media.maxFileSize`).
 */

const SEVEN_DAYS = 7 * 24 * 3600; // SigV4 presigned URLs cannot outlive this.
const S3_MIN_PART = 5 * 2 ** 20;
const S3_MAX_PARTS = 10_000;

const size = sizeField;
const duration = durationField;
const optionalDuration = optionalDurationField();
const bool = boolField;
const port = z.coerce.number().int().min(0).max(65_535);
const httpUrl = z.url({ protocol: /^https?$/ });
/** A proxy `trustProxy` believes: an IP address or CIDR, or a range proxy-addr names (Fastify's trustProxy). */
const proxyAddress = z.union([
  z.ipv4(),
  z.ipv6(),
  z.cidrv4(),
  z.cidrv6(),
  z.enum(['loopback', 'linklocal', 'uniquelocal']),
]);

/** `type/subtype`, `type/*` or `*\/*`, lower-cased. */
const mediaRange = z
  .string()
  .transform((value) => value.trim().toLowerCase())
  .pipe(
    z
      .string()
      .regex(
        /^(\*\/\*|[a-z0-9][\w.+-]*\/(\*|[a-z0-9][\w.+-]*))$/,
        'expected a media type like image/png or image/*',
      ),
  );

/** S3 connection settings; shared at the top level, overridable field by field per storage. */
const s3ConnectionFields = {
  endpoint: httpUrl
    .optional()
    .describe('S3 endpoint URL for S3-compatible servers (MinIO, Ceph, R2…); unset means AWS.'),
  publicEndpoint: httpUrl
    .optional()
    .describe(
      'The endpoint clients reach for presigned URLs (which sign the host), when it differs from `endpoint`.',
    ),
  region: z.string().min(1).optional().describe('S3 region (default `us-east-1`).'),
  forcePathStyle: bool
    .optional()
    .describe('Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.'),
  credentials: z
    .object({
      accessKeyId: z.string().min(1).describe('Access key id.'),
      secretAccessKey: z.string().min(1).describe('Secret access key.'),
      sessionToken: z.string().min(1).optional().describe('Session token of temporary credentials.'),
    })
    .optional()
    .describe("Static credentials; unset means the SDK's default chain (IAM roles, profiles, environment)."),
  // when_required: S3-compatible servers often reject the SDK's default CRC32/aws-chunked bodies.
  checksums: z
    .enum(['when_supported', 'when_required'])
    .optional()
    .describe(
      'When the SDK adds request checksums; defaults to `when_required` when `endpoint` is set, else `when_supported`.',
    ),
  // Over https TLS already protects the body (AWS's own CLI skips the hash too); over http it does not.
  signPayload: bool
    .optional()
    .describe(
      'Whether upload bodies are covered by the SigV4 signature (streamed ones in signed chunks); defaults to false over https, true over plain http.',
    ),
  connectTimeout: optionalDuration.describe(
    'TCP connect deadline towards S3 (default `3s`); an unreachable S3 fails fast with 503.',
  ),
  requestTimeout: optionalDuration.describe(
    'Deadline for S3 to start answering a request (default `30s`); a stalled S3 fails with 504.',
  ),
  maxAttempts: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .optional()
    .describe('Attempts per S3 call, retries included (default `3`).'),
};
const s3Connection = z.object(s3ConnectionFields).strict();

const cannedAcl = z.enum([
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
]);

/** A secret keys are derived from (under labels): long enough to be one. */
const serverSecret = z.string().min(32, 'must be at least 32 characters').optional();

const presign = z
  .object({
    defaultTtl: duration('15m').describe('Link lifetime when the caller asks for none.'),
    maxTtl: duration('1h').describe('Longest link lifetime a caller may ask for; at most `7d` (SigV4).'),
    check: z
      .enum(['head', 'none'])
      .default('head')
      .describe(
        'What a link costs S3. `head`: one HeadObject per link — no links to missing keys, and the stored type decides inline or attachment and is pinned into a presigned URL. `none`: links are signed without asking S3 (tens of µs each, for galleries of many keys); a link to a missing key answers 404 when used, and private links always serve as `attachment` (still shown by `<img>` and `<video>`; opened in a tab, a download), so an object swapped for HTML is never rendered as a page.',
      ),
  })
  .strict()
  .prefault({})
  .superRefine((value, ctx) => {
    if (value.maxTtl > SEVEN_DAYS)
      ctx.addIssue({ code: 'custom', path: ['maxTtl'], message: 'must be at most 7d (SigV4 limit)' });
    if (value.maxTtl < 1) ctx.addIssue({ code: 'custom', path: ['maxTtl'], message: 'must be at least 1s' });
    if (value.defaultTtl > value.maxTtl)
      ctx.addIssue({ code: 'custom', path: ['defaultTtl'], message: 'must not exceed maxTtl' });
    if (value.defaultTtl < 1)
      ctx.addIssue({ code: 'custom', path: ['defaultTtl'], message: 'must be at least 1s' });
  });

/** Settings every storage has, whatever its driver. */
const profileFields = {
  prefix: z
    .string()
    .default('')
    .refine(
      (value) =>
        value === '' ||
        (/^[\w.!*'()/-]+\/$/.test(value) && !value.startsWith('/') && !/(^|\/)\.{1,2}\//.test(value)),
      {
        message: 'must be empty or a safe path ending in "/" (e.g. "uploads/")',
      },
    )
    .describe('Key prefix inside the bucket (or directory), e.g. `uploads/`; clients never see it.'),
  access: z
    .enum(['public', 'private'])
    .default('private')
    .describe(
      '`public`: uploads and `urls` return the public URL; `private`: presigned (or signed) links only.',
    ),
  overwrite: bool.default(false).describe('Off: writes are create-only, enforced atomically by the backend.'),
  maxFileSize: size('50MiB').describe('Largest file accepted (e.g. `50MiB`, `1GB`).'),
  maxFiles: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(10)
    .describe('Most files per multipart request.'),
  maxConcurrentUploads: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'Concurrent uploads into this storage (503 beyond); unlimited within the memory budget when unset.',
    ),
  allowedTypes: z
    .array(mediaRange)
    .default([])
    .describe(
      'Media types accepted, e.g. `[image/*, application/pdf]`, checked against the sniffed content too; empty means any.',
    ),
  cacheControl: z
    .string()
    .min(1)
    .optional()
    .describe('`Cache-Control` stored on every object, so CDN and presigned reads carry it.'),
  contentDisposition: z
    .enum(['inline', 'attachment'])
    .default('inline')
    .describe('How reads present objects; anything a browser could execute is always `attachment`.'),
  publicBaseUrl: httpUrl
    .transform((value) => value.replace(/\/+$/, ''))
    .optional()
    .describe(
      'Base URL mapping to the bucket root (a CDN); public URLs are `{publicBaseUrl}/{prefix}{key}`, the bucket URL when unset.',
    ),
  presign: presign.describe('Lifetimes of presigned (or service-signed) links.'),
  // Services (API keys) are not confined: they act for the application, not for one user.
  ownerPrefix: z
    .string()
    .regex(
      /^([\w.-]+\/|\{[A-Za-z_][\w]*\}\/)*([\w.-]*\{[A-Za-z_][\w]*\}[\w.-]*\/)([\w.-]+\/|\{[A-Za-z_][\w]*\}\/)*$/,
      'a path ending in "/" with at least one {claim}, e.g. "users/{sub}/"',
    )
    .optional()
    .describe(
      'Confines end users (JWT) to their own keys, a template over token claims such as `users/{sub}/`.',
    ),
};

const s3Profile = z
  .object({
    driver: z
      .literal('s3')
      .describe('Where the storage keeps its objects: an S3 bucket or a local directory.'),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
      .describe('The S3 bucket.'),
    // None by default because new AWS buckets reject ACLs (object ownership enforced).
    acl: cannedAcl
      .optional()
      .describe(
        'Canned ACL set on every object; leave unset on buckets with ACLs disabled (the AWS default).',
      ),
    serverSideEncryption: z
      .enum(['AES256', 'aws:kms', 'aws:kms:dsse'])
      .optional()
      .describe('Server-side encryption asked for on every write.'),
    kmsKeyId: z.string().min(1).optional().describe('KMS key (id, ARN or alias) for `aws:kms` encryption.'),
    storageClass: z
      .string()
      .regex(/^[A-Z_]+$/)
      .optional()
      .describe('S3 storage class of every object, e.g. `STANDARD_IA`.'),
    partSize: size('8MiB').describe('Multipart part size; at least `5MiB` and `maxFileSize` / 10,000.'),
    queueSize: z.coerce
      .number()
      .int()
      .min(1)
      .max(16)
      .default(4)
      .describe(
        'Parts an upload may send in parallel, in part buffers borrowed from `limits.uploadMemory` only while it has room to spare; every upload needs one buffer of `partSize`.',
      ),
    s3: s3Connection.optional().describe('Per-storage override of any top-level `s3` connection field.'),
    ...profileFields,
  })
  .strict();

const localProfile = z
  .object({
    driver: z.literal('local'),
    directory: z
      .string()
      .min(1)
      .optional()
      .describe("Directory holding this storage's files; `{local.root}/{storage name}` when unset."),
    ...profileFields,
  })
  .strict();

const storageProfile = z
  .discriminatedUnion('driver', [s3Profile, localProfile])
  .superRefine((profile, ctx) => {
    if (profile.driver !== 's3') return;
    if (profile.partSize < S3_MIN_PART)
      ctx.addIssue({
        code: 'custom',
        path: ['partSize'],
        message: 'must be at least 5MiB (S3 minimum part size)',
      });
    if (profile.partSize * S3_MAX_PARTS < profile.maxFileSize)
      ctx.addIssue({
        code: 'custom',
        path: ['partSize'],
        message: `too small for maxFileSize: S3 allows ${S3_MAX_PARTS} parts, so partSize must be at least maxFileSize / ${S3_MAX_PARTS}`,
      });
    if (
      profile.kmsKeyId &&
      profile.serverSideEncryption !== 'aws:kms' &&
      profile.serverSideEncryption !== 'aws:kms:dsse'
    )
      ctx.addIssue({ code: 'custom', path: ['kmsKeyId'], message: 'requires serverSideEncryption aws:kms' });
  });

const storageName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'storage names are lower-case letters, digits, "-" and "_"');

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('Listen address (`HOST` overrides).'),
        port: port.default(8080).describe('Listen port (`PORT` overrides).'),
        logLevel: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Log level (`LOG_LEVEL` overrides).'),
        requestTimeout: duration('1h').describe(
          'Whole-request deadline; an upload still running after it is aborted (408).',
        ),
        idleTimeout: duration('60s').describe(
          'A connection that sends nothing for this long is dropped (slow-loris guard).',
        ),
        headersTimeout: duration('30s').describe(
          'The request line and headers must arrive within this (slow-loris guard).',
        ),
        maxConnections: z.coerce
          .number()
          .int()
          .min(1)
          .default(1024)
          .describe(
            'Open client connections the server holds at most; past it, new connections are closed as soon as they are accepted (slow-loris guard).',
          ),
        shutdownGrace: duration('25s').describe(
          'On SIGTERM, in-flight uploads get this long to finish before they are aborted.',
        ),
        trustProxy: z
          .union([bool, z.array(proxyAddress).min(1)])
          .default(false)
          .describe(
            'Believe `X-Forwarded-*` headers (client address, protocol, host): `true` from any peer (only where every connection comes through a proxy that sets them), or only from the proxies listed, by address or CIDR (`[10.0.0.0/8]`; `loopback`, `linklocal` and `uniquelocal` name those ranges).',
          ),
        publicBaseUrl: httpUrl
          .optional()
          .describe(
            "The URL clients reach this service at (e.g. `https://files.example.com`), for the absolute URLs it makes to its own routes: a resumable upload's `Location`, links to local objects (unless `local.publicBaseUrl` says otherwise); the request's own origin when unset (read from `X-Forwarded-Proto`/`-Host` only when `trustProxy` trusts the peer).",
          ),
      })
      .strict()
      .prefault({})
      .describe('The HTTP server.'),
    s3: s3Connection
      .prefault({})
      .describe('S3 connection shared by every S3 storage; each may override any field.'),
    // Bounds on concurrent uploads, so memory stays bounded whatever the number of clients.
    limits: z
      .object({
        uploadMemory: size('512MiB').describe(
          'Upload buffer memory, all uploads together: a pool of part buffers, reused. Each S3 upload holds one of `partSize` (less for a smaller body; none for a streamed one) and borrows up to `queueSize` more while the pool has room.',
        ),
        uploadQueueTimeout: duration('60s').describe(
          'How long a new upload waits for a part buffer, its body unread, before it is refused with 503 and `Retry-After`.',
        ),
        uploadsPerPrincipal: z.coerce
          .number()
          .int()
          .min(1)
          .default(64)
          .describe(
            'Concurrent uploads per principal (one API key, one end user, all anonymous callers together); 429 beyond.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Bounds on concurrent uploads.'),
    receipts: z
      .object({
        secret: serverSecret.describe(
          'Secret (32+ characters) from which the Ed25519 key that signs upload receipts is derived; instances behind one load balancer need the same one, so that their receipts verify with one published key. When unset: `resumable.secret`, else the local link-signing secret, else random per process.',
        ),
      })
      .strict()
      .prefault({})
      .describe('Signed upload receipts (`receipt` in every upload answer; `GET /v1/receipts/keys`).'),
    demo: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Serve the upload demo page at `/demo/` (Uppy Dashboard with Tus and AWS S3, tus-js-client; assets from the npm packages, nothing from a CDN). On in the embedded default; needs the dev dependencies (`uppy`, `tus-js-client`), so the production image, installed without them, cannot serve it and says so at startup.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The demo page (the same page runs on an origin of its own: README "Try it in a browser").'),
    resumable: z
      .object({
        secret: serverSecret.describe(
          "HMAC secret (32+ characters) that signs resumable (tus) upload ids; instances that continue each other's uploads need the same one. When unset: derived from the local link-signing secret, else random per process.",
        ),
        expiry: duration('24h').describe(
          'How long a resumable upload may take from its creation (`Upload-Expires`); past it, it answers 410 and its state is removed.',
        ),
      })
      .strict()
      .prefault({})
      .describe('Resumable uploads (tus 1.0) at /v1/storages/{storage}/uploads.'),
    direct: z
      .object({
        expiry: duration('24h').describe(
          'How long a direct-upload key may have requests signed for it and be finalized, from its issue; its staged object is removed by the bucket lifecycle rule after that. Signed with the `resumable.secret` (under its own label).',
        ),
      })
      .strict()
      .prefault({})
      .describe('Direct-to-S3 uploads at /v1/storages/{storage}/direct/sign and …/direct/finalize.'),
    local: z
      .object({
        root: z
          .string()
          .min(1)
          .default('./data')
          .describe('Parent directory of the local storages that name no `directory`.'),
        signingSecret: z
          .string()
          .min(32, 'must be at least 32 characters')
          .optional()
          .describe(
            'HMAC secret (32+ characters) for service-signed links; when unset, one is generated once and kept in local.root/.signing-secret (0600).',
          ),
        previousSigningSecret: z
          .string()
          .min(32, 'must be at least 32 characters')
          .optional()
          .describe('The previous secret, still accepted while links signed with it expire (rotation).'),
        publicBaseUrl: httpUrl
          .transform((value) => value.replace(/\/+$/, ''))
          .optional()
          .describe(
            "Base URL clients use to reach this service, for links to local objects; the request's own when unset.",
          ),
        fileMode: modeField('0600', 0o600).describe(
          'Permission mode of the files the local driver creates, an octal string ("0640" lets the group read).',
        ),
        directoryMode: modeField('0700', 0o700).describe(
          'Permission mode of the directories the local driver creates, an octal string ("0750" lets the group list).',
        ),
      })
      .strict()
      .prefault({})
      .describe('The local-disk driver.'),
    auth: authSchema.prefault({}).describe('Who may do what (README "Access control").'),
    storages: z
      .record(storageName, storageProfile)
      .refine((value) => Object.keys(value).length > 0, 'at least one storage is required')
      .describe('The storages by name (lower-case letters, digits, `-`, `_`): each a bucket profile.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Anonymous access beyond public reads (writes, or reads of private storages) on an address others
    // can reach must be asked for in so many words.
    const open = openAnonymousGrants(config.auth.anonymousGrants, config.storages);
    if (open.length > 0 && !isLoopback(config.server.host) && !config.auth.allowAnonymousWrites) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'anonymousGrants'],
        message: `grants ${open.join(', ')} to anyone without credentials on ${config.server.host}; set auth.allowAnonymousWrites: true if that is really intended`,
      });
    }
    const storages = Object.entries(config.storages);
    for (const [name, profile] of storages) {
      if (
        profile.driver === 's3' &&
        Math.min(profile.partSize, profile.maxFileSize) > config.limits.uploadMemory
      )
        ctx.addIssue({
          code: 'custom',
          path: ['storages', name, 'partSize'],
          message: 'larger than limits.uploadMemory: an upload needs at least one part buffer from it',
        });
    }
    for (const [index, later] of storages.entries())
      for (const earlier of storages.slice(0, index)) {
        const shared = overlap(config.local.root, earlier, later);
        if (shared)
          ctx.addIssue({
            code: 'custom',
            path: ['storages', later[0], 'prefix'],
            message: `overlaps storage "${earlier[0]}" (${shared}): each could read, list and overwrite the other's objects; keep them apart (another bucket or directory, or prefixes neither of which starts with the other)`,
          });
      }
  });

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export const isLoopback = (host: string): boolean => /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/.test(host);

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type StorageProfileConfig = Config['storages'][string];
export type S3ProfileConfig = Extract<StorageProfileConfig, { driver: 's3' }>;
export type LocalProfileConfig = Extract<StorageProfileConfig, { driver: 'local' }>;
export type S3ConnectionConfig = z.output<typeof s3Connection>;
