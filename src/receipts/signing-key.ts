import { createHash, createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The Ed25519 key that signs upload receipts, derived from a server secret under its own label (the
 * secret never signs two kinds of thing: upload ids and links use other labels). Derived, not
 * generated and stored, so every instance configured with the same secret signs with the same key
 * and publishes the same JWKS: nothing to distribute or keep in sync. An Ed25519 private key is any
 * 32-byte seed; PKCS#8 wraps it in a fixed 16-byte header (RFC 8410).
 */

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const LABEL = 'stowage/upload-receipt/v1';

export interface ReceiptKey {
  privateKey: KeyObject;
  /** The public key as a JWK (`kty: OKP`, `crv: Ed25519`) with its `kid`, `alg` and `use`. */
  publicJwk: Record<string, string>;
  kid: string;
}

export function deriveReceiptKey(secret: string): ReceiptKey {
  const seed = createHmac('sha256', secret).update(LABEL).digest();
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as {
    kty: string;
    crv: string;
    x: string;
  };
  // RFC 7638 thumbprint: the members that define the key, in lexicographic order.
  const kid = createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
    .digest('base64url');
  return {
    privateKey,
    kid,
    publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: 'EdDSA', use: 'sig' },
  };
}
