import { z } from 'zod';
import { isAnyPortOrigin } from '../auth/origins.ts';
import { boolField, durationField } from './fields.ts';

/**
 * Access control settings. Grants are `storage:action` with `*` wildcards on either side
 * ("media:write", "*:read", "exports:*"); actions are read, write, delete, list and sign (issue links).
 */

export const ACTIONS = ['read', 'write', 'delete', 'list', 'sign'] as const;
export type Action = (typeof ACTIONS)[number];

export const grant = z
  .string()
  .regex(
    /^(\*|[a-z0-9][a-z0-9_-]{0,62}):(\*|read|write|delete|list|sign)$/,
    'expected "storage:action", e.g. "media:write" or "*:read"',
  );

const seconds = durationField;

const apiKey = z
  .object({
    name: z
      .string()
      .regex(/^[\w.-]{1,64}$/, 'letters, digits, ".", "-" and "_"')
      .describe('Names the key in logs (`api-key:<name>`).'),
    hash: z
      .string()
      .regex(
        /^sha256:[0-9a-f]{64}$/,
        'expected "sha256:" and 64 lower-case hex digits (see `stowage hash-key`)',
      )
      .transform((value) => value.slice('sha256:'.length))
      .describe('`sha256:<64 hex>` of the key (`stowage hash-key`); the key itself is never in the config.'),
    grants: z.array(grant).min(1).describe('What the key may do: `storage:action` grants.'),
  })
  .strict();

const jwt = z
  .object({
    secret: z
      .string()
      .min(32, 'must be at least 32 characters')
      .optional()
      .describe('HS256/384/512 shared secret (32+ characters); exactly one of `secret` and `jwksUrl`.'),
    jwksUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("URL of the issuer's JSON Web Key Set; exactly one of `secret` and `jwksUrl`."),
    issuer: z.string().min(1).describe('Required `iss` claim.'),
    audience: z.string().min(1).describe('Required `aud` claim.'),
    algorithms: z
      .array(
        z.enum([
          'HS256',
          'HS384',
          'HS512',
          'RS256',
          'RS384',
          'RS512',
          'PS256',
          'PS384',
          'PS512',
          'ES256',
          'ES384',
          'ES512',
          'EdDSA',
        ]),
      )
      .optional()
      .describe(
        'Accepted algorithms; HS256 with a secret, RS256/ES256/EdDSA with a JWKS when unset; never `none`.',
      ),
    clockSkew: seconds('30s').describe('Tolerance on `exp` and `nbf`.'),
    grantsClaim: z
      .string()
      .min(1)
      .default('scope')
      .describe('The claim carrying grants: a space-separated string (OAuth `scope`) or an array.'),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.secret === undefined) === (value.jwksUrl === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of secret and jwksUrl' });
    }
  });

const cors = z
  .object({
    /**
     * Exact origins ("https://app.example.com"), an origin with any port ("http://localhost:*"), or
     * "*" for any origin (never with credentials). `CORS_ORIGINS` (comma-separated) replaces them.
     */
    origins: z
      .array(
        z.union([
          z.literal('*'),
          z.string().refine(isAnyPortOrigin),
          z.url({ protocol: /^https?$/ }).transform((value) => value.replace(/\/+$/, '')),
        ]),
      )
      .min(1)
      .describe(
        'Exact origins allowed (`https://app.example.com`); `*` allows any origin (never with credentials).',
      ),
    credentials: boolField
      .default(false)
      .describe('Allow cookies and HTTP authentication on cross-origin requests.'),
    maxAge: seconds('10m').describe('How long browsers may cache a preflight answer.'),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.credentials && value.origins.includes('*')) {
      ctx.addIssue({
        code: 'custom',
        path: ['origins'],
        message: '"*" cannot be combined with credentials: list the origins',
      });
    }
  });

export const authSchema = z
  .object({
    apiKeys: z
      .array(apiKey)
      .default([])
      .describe('Services, authenticated by `Authorization: Bearer <key>` or `X-Api-Key`.'),
    jwt: jwt.optional().describe('End users, authenticated by a JWT bearer token.'),
    // Anything but read here exposes the storage to anyone who can reach the port.
    anonymousGrants: z
      .array(grant)
      .default([])
      .describe('Grants for requests without credentials, beyond reading public storages (always allowed).'),
    allowAnonymousWrites: boolField
      .default(false)
      .describe(
        'Must be true for anonymous grants beyond reading public storages on a non-loopback address.',
      ),
    cors: cors.optional().describe('Cross-origin access for browsers; no CORS headers when unset.'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const names = new Set<string>();
    value.apiKeys.forEach((key, index) => {
      if (names.has(key.name))
        ctx.addIssue({
          code: 'custom',
          path: ['apiKeys', index, 'name'],
          message: `duplicate key name "${key.name}"`,
        });
      names.add(key.name);
    });
  });

export type AuthConfig = z.output<typeof authSchema>;
export type JwtConfig = NonNullable<AuthConfig['jwt']>;
export type CorsConfig = NonNullable<AuthConfig['cors']>;
