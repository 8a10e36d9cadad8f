import type { Action } from '../config/auth-schema.ts';

/** `storage:action` grants with `*` on either side; the only matching rule there is. */
export function grants(list: readonly string[], storage: string, action: Action): boolean {
  return list.some((grant) => {
    const separator = grant.lastIndexOf(':');
    const grantStorage = grant.slice(0, separator);
    const grantAction = grant.slice(separator + 1);
    return (
      (grantStorage === '*' || grantStorage === storage) && (grantAction === '*' || grantAction === action)
    );
  });
}

const grantPattern = /^(\*|[a-z0-9][a-z0-9_-]{0,62}):(\*|read|write|delete|list|sign)$/;

/**
 * Grants carried by a token claim: an OAuth-style space-separated `scope` string or an array.
 * Entries that are not Stowage grants ("openid", "profile") are ignored, not errors.
 */
export function grantsFromClaim(value: unknown): string[] {
  const entries = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
  return entries.filter((entry): entry is string => typeof entry === 'string' && grantPattern.test(entry));
}
