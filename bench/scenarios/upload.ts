import { Upload } from '@aws-sdk/lib-storage';
import { GiB, generatedBody, MiB } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { openPool, postObject, putObject } from '../lib/http.ts';
import { s3ServerPids, startCpuCount } from '../lib/proc.ts';
import { fixed, type Table } from '../lib/report.ts';
import { collectGarbage, deleteObject } from '../lib/s3.ts';
import { type TransferSample, throughputTable } from '../lib/throughput.ts';

/**
 * One large streamed upload at a time: raw PUT and multipart/form-data POST through Stowage, and the
 * same bytes straight to S3 with lib-storage's Upload (the profile's part size and queue: 8 MiB × 4).
 * The three paths take turns, round after round, so background load hits them alike; each object is
 * deleted as soon as it is measured.
 */

const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 4;

const paths = ['PUT via Stowage', 'POST (multipart) via Stowage', 'direct lib-storage Upload'] as const;
type Path = (typeof paths)[number];

export async function uploadScenario(context: BenchContext): Promise<Table[]> {
  const size = context.options.quick ? 128 * MiB : GiB;
  const { client } = context.s3;
  const s3Pids = s3ServerPids();
  return withStowage(context, 'upload', {}, async (stowage, bucket) => {
    const pool = openPool(stowage, 1);
    const samples = new Map<Path, TransferSample[]>(paths.map((path) => [path, []]));
    for (let round = 0; round < context.options.rounds; round++) {
      // Rotate the order so no path always runs first (or right after a garbage collection).
      const order = paths.map((_, index) => paths[(index + round) % paths.length]!);
      for (const path of order) {
        const key = `upload/${round}-${path.split(' ')[0]}`;
        const cpu = startCpuCount(stowage.pid, s3Pids);
        const started = performance.now();
        let stored = key;
        if (path === 'PUT via Stowage') await putObject(pool, stowage, key, size);
        else if (path === 'POST (multipart) via Stowage') stored = await postObject(pool, stowage, size);
        else {
          await new Upload({
            client,
            params: { Bucket: bucket, Key: key, Body: generatedBody(size) },
            partSize: PART_SIZE,
            queueSize: QUEUE_SIZE,
          }).done();
        }
        const sample = { mibPerSecond: size / MiB / ((performance.now() - started) / 1000), cpu: cpu() };
        samples.get(path)!.push(sample);
        context.log(`upload round ${round + 1} ${path}: ${fixed(sample.mibPerSecond)} MiB/s`);
        await deleteObject(client, bucket, stored);
      }
      await collectGarbage(context.s3.server);
    }
    await pool.close();
    return [
      throughputTable({
        title: `${size / MiB} MiB streamed upload, one at a time (median of ${context.options.rounds} rounds)`,
        samples,
        direct: 'direct lib-storage Upload',
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
