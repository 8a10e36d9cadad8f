import { randomBytes, randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorCode } from './io-errors.ts';
import { DEFAULT_MODES, makeDirectories } from './modes.ts';

/**
 * Where the secret for local links comes from. A random secret per process made every link die on a
 * restart, so unless `local.signingSecret` is configured, one is generated once and kept in
 * `<local.root>/.signing-secret` (0600, whatever local.fileMode says; storage names cannot start with
 * a dot, so no storage directory can have that name). Several instances that serve each other's links
 * still need one configured secret: each machine's root has its own file.
 */

export const SECRET_FILE = '.signing-secret';
const MIN_SECRET_LENGTH = 32;

export interface SigningSecret {
  secret: string;
  /** `config`: local.signingSecret; `created`: generated now into `path`; `file`: read from `path`. */
  source: 'config' | 'created' | 'file';
  path?: string;
}

export async function resolveSigningSecret(local: {
  root: string;
  signingSecret?: string | undefined;
  directoryMode?: number;
}): Promise<SigningSecret> {
  if (local.signingSecret !== undefined) return { secret: local.signingSecret, source: 'config' };
  const root = resolve(local.root);
  const path = join(root, SECRET_FILE);
  const kept = await readSecret(path);
  if (kept !== undefined) return { secret: kept, source: 'file', path };
  await makeDirectories(root, local.directoryMode ?? DEFAULT_MODES.directory);
  // Written whole under a temporary name, then linked into place: a reader never sees a partial file,
  // and of two processes starting together over one root, one wins and the other reads its secret.
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, `${randomBytes(32).toString('base64url')}\n`, {
      mode: 0o600,
      flag: 'wx',
      flush: true,
    });
    await link(temp, path).catch((error: unknown) => {
      if (errorCode(error) !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temp, { force: true });
  }
  const secret = await readSecret(path);
  if (secret === undefined) throw new Error(`${path}: the link signing secret vanished while it was created`);
  return { secret, source: 'created', path };
}

/** The kept secret, or undefined when there is no file yet; a damaged file stops startup. */
async function readSecret(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(
      `${path} holds no usable link signing secret (at least ${MIN_SECRET_LENGTH} characters): remove it to generate a new one (links signed before stop working), or set local.signingSecret`,
    );
  return secret;
}

/** The startup log line saying which secret signs local links. */
export function describeSigningSecret({ source, path }: SigningSecret): string {
  if (source === 'config') return 'local links are signed with local.signingSecret';
  const where = source === 'created' ? `a new secret generated into ${path}` : `the secret kept in ${path}`;
  return `local links are signed with ${where}, so they survive restarts; instances that serve each other's links need one local.signingSecret`;
}
