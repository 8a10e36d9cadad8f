import type { IncomingHttpHeaders } from 'node:http';
import type { AuthConfig } from '../config/auth-schema.ts';
import { createApiKeyVerifier } from './api-keys.ts';
import { createJwtVerifier, invalidCredentials } from './jwt.ts';
import type { Principal } from './principal.ts';

export type Authenticator = (headers: IncomingHttpHeaders) => Promise<Principal>;

/** A compact JWS: three base64url parts. API keys never contain dots. */
const looksLikeJwt = (credential: string) => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential);

/**
 * Reads the credential of a request: `Authorization: Bearer <JWT or API key>` or `X-Api-Key`.
 * No credential is the anonymous principal (authorization decides what it may do); a credential
 * that does not verify is a 401, never silently anonymous.
 */
export function createAuthenticator(auth: AuthConfig): Authenticator {
  const verifyApiKey = createApiKeyVerifier(auth.apiKeys);
  const verifyJwt = auth.jwt ? createJwtVerifier(auth.jwt) : undefined;
  const anonymous: Principal = { kind: 'anonymous', grants: auth.anonymousGrants };

  return async (headers) => {
    const credential = credentialOf(headers);
    if (credential === undefined) return anonymous;
    if (looksLikeJwt(credential)) {
      if (!verifyJwt) throw invalidCredentials('this service does not accept tokens');
      return verifyJwt(credential);
    }
    const principal = verifyApiKey(credential);
    if (!principal) throw invalidCredentials('unknown API key');
    return principal;
  };
}

function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw invalidCredentials('expected "Authorization: Bearer <token or API key>"');
    return match[1];
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string') return apiKey.trim() || undefined;
  return undefined;
}
