import { createHash, randomBytes } from 'node:crypto';
import type { AuthConfig } from '../config/auth-schema.ts';
import type { Principal } from './principal.ts';

/**
 * API keys for services. The config holds only `sha256:` hashes: keys are 256 random bits, so a
 * fast hash is enough (there is nothing to brute-force), and a lookup by hash leaks nothing about
 * any key through timing. `stowage hash-key` makes a key and its hash.
 */

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A new key: "stw_" + 43 base64url characters (256 bits). */
export const generateApiKey = (): string => `stw_${randomBytes(32).toString('base64url')}`;

export function createApiKeyVerifier(
  keys: AuthConfig['apiKeys'],
): (presented: string) => Principal | undefined {
  const byHash = new Map(keys.map((key) => [key.hash, key]));
  return (presented) => {
    const key = byHash.get(hashApiKey(presented));
    return key && { kind: 'api-key', name: key.name, grants: key.grants };
  };
}
