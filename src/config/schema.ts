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
  endpoint: httpUrl.optional(),
  /** The endpoint clients reach for presigned URLs, when it differs from the internal one. */
  publicEndpoint: httpUrl.optional(),
  region: z.string().min(1).optional(),
  forcePathStyle: bool.optional(),
  credentials: z
    .object({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1).optional(),
    })
    .optional(),
  /** `when_required` for S3-compatible servers that reject the SDK's default CRC32/aws-chunked bodies. */
  checksums: z.enum(['when_supported', 'when_required']).optional(),
  /**
   * Whether upload bodies are covered by the SigV4 signature (a SHA-256 of every byte). Default: over
   * https no (TLS already protects them; AWS's own CLI does the same), over plain http yes.
   */
  signPayload: bool.optional(),
  /** TCP connect deadline towards S3 (default 3s): an unreachable S3 fails fast with 503. */
  connectTimeout: optionalDuration,
  /** Deadline for S3 to start answering a request (default 30s): a stalled S3 fails with 504. */
  requestTimeout: optionalDuration,
  maxAttempts: z.coerce.number().int().min(1).max(10).optional(),
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

const presign = z
  .object({ defaultTtl: duration('15m'), maxTtl: duration('1h') })
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
  /** Key prefix inside the bucket (or directory); clients never see it. */
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
    ),
  access: z.enum(['public', 'private']).default('private'),
  overwrite: bool.default(false),
  maxFileSize: size('50MiB'),
  maxFiles: z.coerce.number().int().min(1).max(1000).default(10),
  /** Concurrent uploads into this storage; unlimited (within the memory budget) when unset. */
  maxConcurrentUploads: z.coerce.number().int().min(1).optional(),
  /** Empty = any type. */
  allowedTypes: z.array(mediaRange).default([]),
  cacheControl: z.string().min(1).optional(),
  contentDisposition: z.enum(['inline', 'attachment']).default('inline'),
  /** Base URL that maps to the bucket root (a CDN); public URLs are `${publicBaseUrl}/${prefix}${key}`. */
  publicBaseUrl: httpUrl.transform((value) => value.replace(/\/+$/, '')).optional(),
  presign,
  /**
   * Confines end users (JWT principals) to their own keys: a template over token claims such as
   * "users/{sub}/". Their uploads land under it and every other action is limited to keys below it.
   * Services (API keys) are not confined.
   */
  ownerPrefix: z
    .string()
    .regex(
      /^([\w.-]+\/|\{[A-Za-z_][\w]*\}\/)*([\w.-]*\{[A-Za-z_][\w]*\}[\w.-]*\/)([\w.-]+\/|\{[A-Za-z_][\w]*\}\/)*$/,
      'a path ending in "/" with at least one {claim}, e.g. "users/{sub}/"',
    )
    .optional(),
};

const s3Profile = z
  .object({
    driver: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
    /** Canned ACL per object; none by default because new AWS buckets reject ACLs (ownership enforced). */
    acl: cannedAcl.optional(),
    serverSideEncryption: z.enum(['AES256', 'aws:kms', 'aws:kms:dsse']).optional(),
    kmsKeyId: z.string().min(1).optional(),
    storageClass: z
      .string()
      .regex(/^[A-Z_]+$/)
      .optional(),
    partSize: size('8MiB'),
    /** Parts uploaded in parallel per upload; memory per upload ≈ (queueSize + 1) × partSize. */
    queueSize: z.coerce.number().int().min(1).max(16).default(4),
    s3: s3Connection.optional(),
    ...profileFields,
  })
  .strict();

const localProfile = z
  .object({
    driver: z.literal('local'),
    /** Directory holding this storage's files; defaults to `${local.root}/${storage name}`. */
    directory: z.string().min(1).optional(),
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
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Whole-request deadline; an upload still running after it is aborted (408). */
        requestTimeout: duration('1h'),
        /** A connection that sends nothing for this long is dropped (slow-loris guard). */
        idleTimeout: duration('60s'),
        /** The request line and headers must arrive within this (slow-loris guard). */
        headersTimeout: duration('30s'),
        maxConnections: z.coerce
          .number()
          .int()
          .min(1)
          .default(1024)
          .describe(
            'Open client connections the server holds at most; past it, new connections are closed as soon as they are accepted (slow-loris guard).',
          ),
        /** On SIGTERM, in-flight uploads get this long to finish before they are aborted. */
        shutdownGrace: duration('25s'),
        trustProxy: bool.default(false),
      })
      .strict()
      .prefault({}),
    s3: s3Connection.prefault({}),
    /** Bounds on concurrent uploads, so memory stays bounded whatever the number of clients. */
    limits: z
      .object({
        /** Budget for the buffers of all in-flight uploads (an S3 upload holds (queueSize + 1) × partSize). */
        uploadMemory: size('512MiB'),
        /** How long a new upload may wait for budget before it is refused with 503 + Retry-After. */
        uploadQueueTimeout: duration('2s'),
        /** Concurrent uploads per principal (one API key, one end user, all anonymous callers together). */
        uploadsPerPrincipal: z.coerce.number().int().min(1).default(32),
      })
      .strict()
      .prefault({}),
    local: z
      .object({
        root: z.string().min(1).default('./data'),
        signingSecret: z
          .string()
          .min(32, 'must be at least 32 characters')
          .optional()
          .describe(
            'HMAC secret for links to local objects; when unset, one is generated once and kept in local.root/.signing-secret (0600).',
          ),
        /** The previous secret, still accepted while links signed with it expire (rotation). */
        previousSigningSecret: z.string().min(32, 'must be at least 32 characters').optional(),
        /** Base URL clients use to reach this service, for links to local objects. */
        publicBaseUrl: httpUrl.transform((value) => value.replace(/\/+$/, '')).optional(),
        fileMode: modeField('0600', 0o600).describe(
          'Permission mode of the files the local driver creates, an octal string ("0640" lets the group read).',
        ),
        directoryMode: modeField('0700', 0o700).describe(
          'Permission mode of the directories the local driver creates, an octal string ("0750" lets the group list).',
        ),
      })
      .strict()
      .prefault({}),
    auth: authSchema.prefault({}),
    storages: z
      .record(storageName, storageProfile)
      .refine((value) => Object.keys(value).length > 0, 'at least one storage is required'),
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
