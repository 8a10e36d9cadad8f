import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';

/** The CLI run in-process, its output captured: what a user would see, and the exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
  });
  return { code, stdout, stderr };
}

/** Writes a config document to a fresh temp file (JSON is YAML) and returns its path. */
export async function configFile(document: unknown, label: string): Promise<string> {
  const path = join(tmpdir(), `stowage-cli-${label}-${process.pid}-${Date.now()}.json`);
  await writeFile(path, JSON.stringify(document));
  return path;
}

/** What the example config needs from the environment, with the given buckets. */
export const exampleEnv = (buckets: { media: string; private: string; exports: string }) => ({
  MEDIA_BUCKET: buckets.media,
  PRIVATE_BUCKET: buckets.private,
  EXPORTS_BUCKET: buckets.exports,
  STOWAGE_API_KEY_HASH: `sha256:${'0'.repeat(64)}`,
});
