import type { StorageProfileConfig } from '../config/schema.ts';
import { AppError } from '../errors.ts';
import type { StorageDriver } from './driver.ts';
import type { WriteSink } from './writes.ts';

/** A named storage: its validated profile and the driver that reaches its bucket or directory. */
export interface Storage {
  readonly name: string;
  readonly profile: StorageProfileConfig;
  readonly driver: StorageDriver;
  /** Where the write path reports each file write's outcome (the metrics); none when not observed. */
  readonly reportWrite?: WriteSink;
}

const MAX_BACKEND_KEY_BYTES = 1024; // S3's limit, which the local driver keeps too

/** API keys are relative to the storage; the backend key carries the profile prefix. */
export function backendKey(storage: Storage, key: string): string {
  const full = `${storage.profile.prefix}${key}`;
  if (Buffer.byteLength(full, 'utf8') > MAX_BACKEND_KEY_BYTES) {
    throw new AppError(
      'INVALID_KEY',
      `invalid object key: it is too long for this storage (at most ${MAX_BACKEND_KEY_BYTES - Buffer.byteLength(storage.profile.prefix, 'utf8')} bytes)`,
    );
  }
  return full;
}

export const apiKey = (storage: Storage, fullKey: string): string =>
  fullKey.startsWith(storage.profile.prefix) ? fullKey.slice(storage.profile.prefix.length) : fullKey;
