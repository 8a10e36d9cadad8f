/**
 * Why a token was refused, from jose's error: a message for the client that names the failed check
 * (never an expected value, never the token) and a diagnostic for the log with jose's own code and
 * reason. Pure. Client messages carry no `"`: they are quoted in `WWW-Authenticate` (RFC 6750 §3).
 */

export interface TokenRefusal {
  message: string;
  diagnostic: string;
}

interface JoseError {
  code?: string;
  claim?: string;
  reason?: string;
  message?: string;
}

const claimChecks: Record<string, string> = {
  iss: 'the token was not issued by an accepted issuer',
  aud: 'the token is not meant for this service (audience)',
  nbf: 'the token is not valid yet',
  iat: 'the token was issued in the future',
};

const byCode: Record<string, string> = {
  ERR_JWT_EXPIRED: 'the token has expired',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the token is signed with an algorithm this service does not accept',
  ERR_JOSE_NOT_SUPPORTED: 'the token is signed with an algorithm this service does not accept',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the token signature does not verify',
  ERR_JWKS_NO_MATCHING_KEY: 'the token is not signed by a key of its issuer',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the token is not signed by a key of its issuer',
};

export function tokenRefusal(error: unknown): TokenRefusal {
  const { code = 'unknown', claim, reason, message = '' } = (error ?? {}) as JoseError;
  // jose's messages name claims and header parameters, not values; bounded all the same.
  const diagnostic = `${code}${claim ? ` (${claim}: ${reason ?? ''})` : ''}: ${message.slice(0, 200)}`;
  return { message: clientMessage(code, claim, reason), diagnostic };
}

function clientMessage(code: string, claim: string | undefined, reason: string | undefined): string {
  const known = byCode[code];
  if (known) return known;
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim) {
    if (reason === 'missing') return `the token has no ${claim} claim`;
    if (reason === 'check_failed' && claimChecks[claim]) return claimChecks[claim];
    return `the token has an invalid ${claim} claim`;
  }
  return 'the token is malformed';
}
