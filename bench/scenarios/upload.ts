import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { GiB, MiB } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { openPool, postObject, putObject } from '../lib/http.ts';
import type { Table } from '../lib/report.ts';
import { collectGarbage, deleteObject, uploadDirect } from '../lib/s3.ts';
import { type TransferPath, throughputTable, transferRounds } from '../lib/throughput.ts';

/**
 * One large streamed upload at a time: raw PUT and multipart/form-data POST through Stowage, and the
 * same bytes straight to S3 with lib-storage's Upload (the profile's part size and queue: 8 MiB × 4).
 * The paths take turns, round after round, so background load hits them alike; each object is
 * deleted as soon as it is measured. With STOWAGE_BENCH_BEFORE, the other tree's PUT and POST are paths too.
 */

const DIRECT = 'direct lib-storage Upload';
const directUpload = (client: S3Client, bucket: string, size: number) => async (round: number) => {
  const key = `upload/${round}-direct-${randomUUID()}`;
  await uploadDirect(client, bucket, key, size);
  return key;
};

export async function uploadScenario(context: BenchContext): Promise<Table[]> {
  const size = context.options.quick ? 128 * MiB : GiB;
  const { client } = context.s3;
  return withStowage(context, 'upload', {}, async (stowage, bucket, before) => {
    const pool = openPool(stowage, 1);
    const beforePool = before && openPool(before, 1);
    // Each path resolves with the key it stored.
    const paths: Array<TransferPath<string>> = [
      {
        name: 'PUT via Stowage',
        pid: stowage.pid,
        run: (round) =>
          putObject(pool, stowage, `upload/${round}-put`, size).then(() => `upload/${round}-put`),
      },
      { name: 'POST (multipart) via Stowage', pid: stowage.pid, run: () => postObject(pool, stowage, size) },
      ...(before && beforePool
        ? [
            {
              name: 'PUT via Stowage (before)',
              pid: before.pid,
              run: (round: number) =>
                putObject(beforePool, before, `upload/${round}-before`, size).then(
                  () => `upload/${round}-before`,
                ),
            },
            {
              name: 'POST (multipart) via Stowage (before)',
              pid: before.pid,
              run: () => postObject(beforePool, before, size),
            },
          ]
        : []),
      { name: DIRECT, pid: undefined, run: directUpload(client, bucket, size) },
      {
        name: `${DIRECT}, SDK's default HTTP handler`,
        pid: undefined,
        run: directUpload(context.s3.defaultHandlerClient, bucket, size),
      },
    ];
    const samples = await transferRounds({
      context,
      label: 'upload',
      paths,
      bytes: size,
      idlePid: stowage.pid,
      settle: async (_path, key) => {
        await deleteObject(client, bucket, key);
      },
      afterRound: () => collectGarbage(context.s3.server),
    });
    await pool.close();
    await beforePool?.close();
    return [
      throughputTable({
        title: `${size / MiB} MiB streamed upload, one at a time (median of ${context.options.rounds} rounds)`,
        samples,
        direct: DIRECT,
        bytes: size,
        notes: [
          'Stowage writes create-only (the profile default): one small conditional PutObject reserves the ' +
            'key before the multipart upload, and a HeadObject fetches the ETag Ceph leaves out of ' +
            'CompleteMultipartUpload.',
        ],
      }),
    ];
  });
}
