import { ACTIONS, type Action } from '../config/auth-schema.ts';
import { AppError } from '../errors.ts';
import type { Storage } from '../storage/storage.ts';
import { grants } from './grants.ts';
import { credentialsRequired } from './jwt.ts';
import type { Principal } from './principal.ts';

/** What a principal may touch inside a storage it was allowed into: keys under `keyPrefix`. */
export interface Scope {
  readonly keyPrefix: string;
}

const UNCONFINED: Scope = { keyPrefix: '' };

/**
 * The access decision, pure. Reading a public storage is open to all; anything else needs a grant.
 * A storage the principal has no grant on gets the same answer whether it exists or not (401 to the
 * anonymous, 403 to others), so names cannot be probed. End users (JWT) are confined to the
 * storage's ownerPrefix, expanded from their token's claims.
 */
export function authorize(
  principal: Principal,
  storageName: string,
  action: Action,
  storage: Storage | undefined,
): Scope {
  const publicRead = action === 'read' && storage?.profile.access === 'public';
  const granted = grants(principal.grants, storageName, action);
  if (!granted && !publicRead) {
    if (principal.kind === 'anonymous') throw credentialsRequired();
    throw new AppError('FORBIDDEN', `not allowed to ${action} in storage "${storageName}"`);
  }
  if (!storage) throw new AppError('STORAGE_NOT_FOUND', `no storage named "${storageName}"`);
  if (principal.kind !== 'jwt' || !storage.profile.ownerPrefix || (publicRead && !granted)) return UNCONFINED;
  return { keyPrefix: expandOwnerPrefix(storage.profile.ownerPrefix, principal.claims) };
}

/**
 * Whether a principal may learn that a storage exists: it is public, or the principal holds a grant
 * on it. Whatever names a storage to a caller (GET /v1/storages, /readyz) asks this first.
 */
export const mayKnow = (principal: Principal, storage: Storage): boolean =>
  storage.profile.access === 'public' ||
  ACTIONS.some((action) => grants(principal.grants, storage.name, action));

const safeClaimValue = /^[\w.@+-]{1,128}$/;

export function expandOwnerPrefix(template: string, claims: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_match, claim: string) => {
    const value = claims[claim];
    const text = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
    if (!safeClaimValue.test(text) || text === '.' || text === '..') {
      throw new AppError('FORBIDDEN', `the token's "${claim}" claim cannot name a key prefix`);
    }
    return text;
  });
}

/** Throws 403 unless `key` lies inside the scope. */
export function requireInScope(scope: Scope, key: string): string {
  if (!key.startsWith(scope.keyPrefix))
    throw new AppError('FORBIDDEN', `keys here must start with "${scope.keyPrefix}"`);
  return key;
}

/** A list prefix narrowed to the scope; 403 when it points elsewhere. */
export function listPrefixInScope(scope: Scope, prefix: string): string {
  if (prefix.startsWith(scope.keyPrefix)) return prefix;
  if (scope.keyPrefix.startsWith(prefix)) return scope.keyPrefix;
  throw new AppError('FORBIDDEN', `listings here must stay under "${scope.keyPrefix}"`);
}
