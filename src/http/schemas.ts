import { z } from 'zod';

/** Response and parameter schemas shared by the routes; they also feed the OpenAPI document. */

export const errorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable machine-readable code (see the error catalogue).' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const storageParams = z.object({
  storage: z.string().min(1).max(64).meta({ description: 'Storage name, e.g. "media".' }),
});

export const objectParams = storageParams.extend({
  '*': z.string().meta({ description: 'Object key; may contain "/".' }),
});

export const storedObject = z
  .object({
    storage: z.string(),
    key: z.string(),
    size: z.number().int(),
    contentType: z.string(),
    etag: z.string(),
    checksum: z.object({ sha256: z.string() }),
    originalName: z.string().optional(),
    url: z.string().optional().meta({ description: 'Public URL, for objects in a public storage.' }),
    receipt: z.string().optional().meta({
      description:
        'Signed upload receipt (JWT, EdDSA): storage, key, size, type, checksum, uploader, time. Hand it to your backend, which verifies it with `GET /v1/receipts/keys` or `POST /v1/receipts/verify`.',
    }),
  })
  .meta({ id: 'StoredObject' });

export const objectSummary = z.object({
  key: z.string(),
  size: z.number().int(),
  etag: z.string(),
  lastModified: z.iso.datetime(),
});

/** Error statuses every storage route may answer with. */
export const commonErrors = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  502: errorResponse,
  503: errorResponse,
  504: errorResponse,
} as const;
