import { stringify } from 'yaml';
import type { Config } from '../config/schema.ts';
import { resolveS3Connection } from '../storage/drivers/s3/connection.ts';

/**
 * `stowage config`: the config as Stowage will run it — every default applied, sizes in bytes,
 * durations in seconds, modes in octal, each S3 storage with its resolved connection — and no secret in the output.
 */

const MASK = '********';

/** Keys whose values are secrets wherever they appear. */
const secretKey = /secret|password|passphrase|token|privatekey/i;

/** An access key id identifies, it does not authenticate: enough of it is shown to tell keys apart. */
const maskKeyId = (value: string): string =>
  value.length > 8 ? `${value.slice(0, 4)}…${value.slice(-4)}` : MASK;

/** http://user:pass@host → http://user:********@host */
function maskUrl(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = MASK;
    return url.toString();
  } catch {
    return value;
  }
}

export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (secretKey.test(key)) return MASK;
    if (key === 'accessKeyId') return maskKeyId(value);
    if (/^https?:\/\//.test(value)) return maskUrl(value);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, maskSecrets(item, name)]));
  }
  return value;
}

/** The resolved config with secrets masked; `s3` storages carry their merged `connection`. */
export function resolvedView(config: Config): Record<string, unknown> {
  const storages = Object.fromEntries(
    Object.entries(config.storages).map(([name, profile]) => {
      if (profile.driver !== 's3') return [name, profile];
      const { s3, ...rest } = profile;
      return [name, { ...rest, connection: resolveS3Connection(config.s3, s3) }];
    }),
  );
  const { s3, ...rest } = config;
  // Modes as an operator writes them ("0600"), not as the numbers they parse to.
  const mode = (value: number) => value.toString(8).padStart(4, '0');
  const local = {
    ...rest.local,
    fileMode: mode(rest.local.fileMode),
    directoryMode: mode(rest.local.directoryMode),
  };
  return maskSecrets({ ...rest, local, storages }) as Record<string, unknown>;
}

export function formatConfig(config: Config, format: 'yaml' | 'json'): string {
  const view = resolvedView(config);
  return format === 'json' ? `${JSON.stringify(view, null, 2)}\n` : stringify(view, { lineWidth: 0 });
}
