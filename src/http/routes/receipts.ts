import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReceiptSigner } from '../../receipts/receipt.ts';
import { errorResponse } from '../schemas.ts';

/**
 * The two ways an application's backend checks a receipt a browser handed it (src/receipts/receipt.ts):
 * offline, with the key published here as a JWKS (any JWT library: alg EdDSA, typ
 * `stowage-receipt+jwt`, iss `stowage`), or with one call. Both answer without credentials: a
 * receipt is a signed statement its holder already has, and the key is public by design.
 */
export const receiptRoutes: FastifyPluginAsyncZod<{ receipts: ReceiptSigner }> = async (
  app,
  { receipts },
) => {
  const jwk = z.record(z.string(), z.string());
  app.get(
    '/v1/receipts/keys',
    {
      schema: {
        summary: 'The public keys that verify upload receipts (JWKS)',
        response: { 200: z.object({ keys: z.array(jwk) }) },
      },
    },
    async (_request, reply) => {
      // Cacheable, but not forever: a rotated secret changes the key.
      reply.header('cache-control', 'public, max-age=300');
      return receipts.jwks;
    },
  );

  app.post(
    '/v1/receipts/verify',
    {
      schema: {
        summary: 'Verify an upload receipt',
        description:
          'Answers what the receipt says when this service signed it and it is unaltered; `400 RECEIPT_INVALID` otherwise.',
        body: z.object({ receipt: z.string().min(1).max(8192) }),
        response: {
          200: z.object({
            valid: z.literal(true),
            storage: z.string(),
            key: z.string(),
            size: z.number().int(),
            contentType: z.string(),
            etag: z.string(),
            sha256: z.string().optional(),
            principal: z.string(),
            issuedAt: z.iso.datetime(),
          }),
          400: errorResponse,
        },
      },
    },
    async (request) => ({ valid: true as const, ...(await receipts.verify(request.body.receipt)) }),
  );
};
