import type { Pool } from 'undici';
import { MiB } from './body.ts';
import { postObject, putObject } from './http.ts';
import { type Layout, PROXY_CPU } from './pinning.ts';
import { rssMiB } from './proc.ts';
import { collectGarbage, createBucket, deleteObject, removeBucket, type S3Side } from './s3.ts';
import { type Stowage, type StowageOptions, startStowage } from './stowage.ts';

/** What every scenario gets, and the set-up they share: a fresh bucket and a fresh Stowage each. */

export interface BenchOptions {
  /** A/B rounds per measurement (alternating Stowage and direct). */
  rounds: number;
  /** Shorter runs and smaller sizes, to check the harness itself. */
  quick: boolean;
  /** How the processes share the CPUs (pinning.ts). */
  layout: Layout;
}

export interface BenchContext {
  s3: S3Side;
  options: BenchOptions;
  log(message: string): void;
}

/**
 * Another Stowage tree (STOWAGE_BENCH_BEFORE, e.g. a checkout of the previous commit) to run next to
 * this one in the same run: the throughput scenarios then measure it as a path of its own, so a
 * change is compared with what it changed under the very same conditions.
 */
export const beforeRoot: string | undefined = process.env.STOWAGE_BENCH_BEFORE || undefined;

/**
 * Runs `body` with a new bucket and a Stowage child on it (and one of the `beforeRoot` tree when
 * set); afterwards stops them, deletes every object and the bucket, and lets Ceph collect the garbage
 * (its data lives in RAM).
 */
export async function withStowage<T>(
  context: BenchContext,
  label: string,
  options: Omit<StowageOptions, 'bucket'>,
  body: (stowage: Stowage, bucket: string, before: Stowage | undefined) => Promise<T>,
): Promise<T> {
  const { client, server } = context.s3;
  const bucket = await createBucket(client, label);
  let stowage: Stowage | undefined;
  let before: Stowage | undefined;
  const cpus = context.options.layout === 'shared' ? {} : { cpus: PROXY_CPU };
  try {
    stowage = await startStowage(context.s3, { ...options, ...cpus, bucket });
    if (beforeRoot)
      before = await startStowage(context.s3, { ...options, ...cpus, bucket, root: beforeRoot });
    return await body(stowage, bucket, before);
  } finally {
    await stowage?.stop();
    await before?.stop();
    await removeBucket(client, bucket).catch((error: unknown) =>
      context.log(`could not remove bucket ${bucket}: ${String(error)}`),
    );
    await collectGarbage(server);
  }
}

/** The Stowage children of `withStowage`, this tree's first, each with the suffix its rows carry. */
export const stowageTrees = (
  stowage: Stowage,
  before: Stowage | undefined,
): Array<{ server: Stowage; suffix: string }> => [
  { server: stowage, suffix: '' },
  ...(before ? [{ server: before, suffix: ' (before)' }] : []),
];

/**
 * One 10 MiB upload (modules, JIT, sockets), deleted again, so that what follows measures the
 * steady state; resolves with the idle RSS after it (MiB). `form`: a 10 MiB multipart/form-data
 * upload too (two parts: the form path's parser and part writer), for scenarios that measure forms —
 * its part buffers stay in the pool for reuse, so scenarios that report memory above idle leave it out.
 */
export async function warmUp(
  context: BenchContext,
  pool: Pool,
  server: Stowage,
  bucket: string,
  options: { form?: boolean } = {},
): Promise<number> {
  const key = `warm-up-${server.pid}`;
  await putObject(pool, server, key, 10 * MiB);
  await deleteObject(context.s3.client, bucket, key);
  if (options.form) await deleteObject(context.s3.client, bucket, await postObject(pool, server, 10 * MiB));
  return rssMiB(server.pid);
}
