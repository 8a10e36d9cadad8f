import type { StorageProfileConfig } from '../config/schema.ts';
import type { StorageDriver } from './driver.ts';

/** A named storage: its validated profile and the driver that reaches its bucket or directory. */
export interface Storage {
  readonly name: string;
  readonly profile: StorageProfileConfig;
  readonly driver: StorageDriver;
}

/** API keys are relative to the storage; the backend key carries the profile prefix. */
export const backendKey = (storage: Storage, key: string): string => `${storage.profile.prefix}${key}`;

export const apiKey = (storage: Storage, fullKey: string): string =>
  fullKey.startsWith(storage.profile.prefix) ? fullKey.slice(storage.profile.prefix.length) : fullKey;
