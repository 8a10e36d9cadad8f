import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { JwtConfig } from '../config/auth-schema.ts';
import { AppError, isAppError } from '../errors.ts';
import { grantsFromClaim } from './grants.ts';
import type { Principal } from './principal.ts';
import { tokenRefusal } from './token-errors.ts';

/**
 * End-user tokens, verified with jose: signature (HS* shared secret or keys from a JWKS URL),
 * issuer, audience, expiry and not-before with a small clock skew, and only the configured
 * algorithms — `alg: none` and algorithm confusion (an HS256 token signed with a public key) fail.
 */
export function createJwtVerifier(config: JwtConfig): (token: string) => Promise<Principal> {
  const algorithms = config.algorithms ?? (config.secret ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  const key: Uint8Array | JWTVerifyGetKey = config.secret
    ? new TextEncoder().encode(config.secret)
    : createRemoteJWKSet(new URL(config.jwksUrl ?? ''), { timeoutDuration: 3_000, cooldownDuration: 30_000 });

  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms,
        clockTolerance: config.clockSkew,
        requiredClaims: ['exp', 'sub'],
      });
      // jose only checks that `sub` is present. A number would share `users/42/` with the string "42".
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw invalidCredentials("the token's sub claim must be a non-empty string", {
          diagnostic: `sub claim is ${payload.sub === '' ? 'empty' : `a ${typeof payload.sub}`}`,
        });
      }
      return {
        kind: 'jwt',
        subject: payload.sub,
        grants: grantsFromClaim(payload[config.grantsClaim]),
        claims: payload,
      };
    } catch (error) {
      throw isAppError(error) ? error : tokenError(error);
    }
  };
}

function tokenError(error: unknown): AppError {
  const code = (error as { code?: string }).code ?? '';
  // The key set could not be fetched: our problem, not the token's.
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || (error as Error).name === 'TypeError') {
    return new AppError('SERVICE_UNAVAILABLE', 'token keys are unavailable; try again', {
      cause: error,
      headers: { 'retry-after': '5' },
    });
  }
  const { message, diagnostic } = tokenRefusal(error);
  return invalidCredentials(message, { cause: error, diagnostic });
}

/** 401 with the RFC 6750 challenge; the description never echoes the token. */
export function invalidCredentials(
  reason: string,
  options: { cause?: unknown; diagnostic?: string } = {},
): AppError {
  return new AppError('UNAUTHORIZED', reason, {
    ...options,
    headers: {
      'www-authenticate': `Bearer realm="stowage", error="invalid_token", error_description="${reason}"`,
    },
  });
}

export function credentialsRequired(): AppError {
  return new AppError('UNAUTHORIZED', 'credentials are required (Authorization: Bearer <token or API key>)', {
    headers: { 'www-authenticate': 'Bearer realm="stowage"' },
  });
}
