import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Permissions of what the local driver creates. Owner-only by default: uploads are other people's
 * data, and nothing else on the machine needs to read them (local.fileMode / local.directoryMode
 * widen it, e.g. for a backup user's group). Created paths are chmod'ed to the mode, because the
 * process umask would otherwise strip bits an operator configured.
 */
export interface FileModes {
  file: number;
  directory: number;
}

export const DEFAULT_MODES: FileModes = { file: 0o600, directory: 0o700 };

/** `mkdir -p` with `mode` on each directory it creates (only those: existing ones are left as they are). */
export async function makeDirectories(path: string, mode: number): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  for (let directory = path; ; directory = dirname(directory)) {
    await chmod(directory, mode);
    if (directory === first || dirname(directory) === directory) return;
  }
}
