import type { Config } from '../config/schema.ts';
import { openAnonymousGrants } from './open-access.ts';

/** Anonymous callers may do more than read public storages: the startup line says OPEN, at warn level. */
export const isOpen = (config: Config): boolean =>
  openAnonymousGrants(config.auth.anonymousGrants, config.storages).length > 0;

/** One startup log line saying who may do what, so an open service never goes unnoticed. */
export function describeAccess(config: Config): string {
  const { auth } = config;
  const anonymous =
    auth.anonymousGrants.length > 0
      ? `anonymous requests may ${auth.anonymousGrants.join(', ')}`
      : 'anonymous requests may only read public storages';
  const keys = `${auth.apiKeys.length} API key${auth.apiKeys.length === 1 ? '' : 's'}`;
  const jwt = auth.jwt
    ? `JWT from ${auth.jwt.issuer} (${auth.jwt.secret ? 'shared secret' : 'JWKS'})`
    : 'JWT off';
  return `access: ${isOpen(config) ? 'OPEN — ' : ''}${anonymous}; ${keys}; ${jwt}; CORS ${auth.cors ? auth.cors.origins.join(' ') : 'off'}`;
}
