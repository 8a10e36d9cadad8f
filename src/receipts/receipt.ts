import { sign } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AppError } from '../errors.ts';
import type { ReceiptKey } from './signing-key.ts';

/**
 * Upload receipts: what Stowage says it stored, signed, for a frontend to hand to its own backend.
 * The backend verifies it offline with the published key (`GET /v1/receipts/keys`, a JWKS) or with
 * one call (`POST /v1/receipts/verify`), and learns — without trusting the browser — which storage,
 * key, size, type and checksum were stored, by whom and when. A compact JWS (JWT, EdDSA): every
 * platform has a verifier for it. No expiry: a receipt records a fact; the verifier decides how old
 * a receipt it accepts (`iat`), and that a key is accepted once (its own records).
 */

export const RECEIPT_TYPE = 'stowage-receipt+jwt';
export const RECEIPT_ISSUER = 'stowage';

export interface ReceiptClaims {
  storage: string;
  key: string;
  size: number;
  contentType: string;
  etag: string;
  /** Hex SHA-256 of the stored bytes, when the upload path computed it. */
  sha256?: string | undefined;
  /** describePrincipal() of the uploader (`sub`). */
  principal: string;
}

export interface ReceiptSigner {
  sign(claims: ReceiptClaims): Promise<string>;
  verify(receipt: string): Promise<ReceiptClaims & { issuedAt: string }>;
  /** The JWKS that verifies receipts. */
  readonly jwks: { keys: Array<Record<string, string>> };
}

export function createReceiptSigner(key: ReceiptKey): ReceiptSigner {
  const jwks = { keys: [key.publicJwk] };
  const keySet = createLocalJWKSet(jwks);
  // Every upload answer is signed, small ones included: the header is encoded once, and the compact
  // JWS is made with node:crypto directly (≈ 50 µs; jose's SignJWT took ≈ 180 µs per receipt).
  // Verifying, which is rare, stays with jose.
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: RECEIPT_TYPE, kid: key.kid })).toString(
    'base64url',
  );
  return {
    jwks,
    sign: async ({ principal, sha256, ...object }) => {
      const payload = Buffer.from(
        JSON.stringify({
          ...object,
          ...(sha256 !== undefined && { sha256 }),
          iss: RECEIPT_ISSUER,
          sub: principal,
          iat: Math.floor(Date.now() / 1000),
        }),
      ).toString('base64url');
      const input = `${header}.${payload}`;
      return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
    },
    async verify(receipt) {
      try {
        const { payload } = await jwtVerify(receipt, keySet, {
          issuer: RECEIPT_ISSUER,
          typ: RECEIPT_TYPE,
          algorithms: ['EdDSA'],
          requiredClaims: ['sub', 'iat', 'storage', 'key', 'size', 'contentType', 'etag'],
        });
        return {
          storage: String(payload.storage),
          key: String(payload.key),
          size: Number(payload.size),
          contentType: String(payload.contentType),
          etag: String(payload.etag),
          ...(typeof payload.sha256 === 'string' && { sha256: payload.sha256 }),
          principal: String(payload.sub),
          issuedAt: new Date((payload.iat ?? 0) * 1000).toISOString(),
        };
      } catch (cause) {
        throw new AppError('RECEIPT_INVALID', 'the receipt is not one this service signed, or was altered', {
          cause,
        });
      }
    },
  };
}
