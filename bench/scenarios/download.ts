import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GiB, MiB } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { getObject, openPool, putObject, STORAGE } from '../lib/http.ts';
import { s3ServerPids, startCpuCount } from '../lib/proc.ts';
import { fixed, type Table } from '../lib/report.ts';
import { type TransferSample, throughputTable } from '../lib/throughput.ts';

/**
 * A large object read whole, one read at a time: GET through Stowage (proxied) against GetObject
 * straight from S3, taking turns round after round. Both sides count the bytes and drop them.
 */

const paths = ['GET via Stowage', 'direct GetObject'] as const;
type Path = (typeof paths)[number];

export async function downloadScenario(context: BenchContext): Promise<Table[]> {
  const size = context.options.quick ? 128 * MiB : GiB;
  const { client } = context.s3;
  const s3Pids = s3ServerPids();
  return withStowage(context, 'download', {}, async (stowage, bucket) => {
    const pool = openPool(stowage, 1);
    const key = 'download/large';
    await putObject(pool, stowage, key, size);
    const samples = new Map<Path, TransferSample[]>(paths.map((path) => [path, []]));
    for (let round = 0; round < context.options.rounds; round++) {
      const order = round % 2 === 0 ? paths : [...paths].reverse();
      for (const path of order) {
        const cpu = startCpuCount(stowage.pid, s3Pids);
        const started = performance.now();
        let bytes = 0;
        if (path === 'GET via Stowage') bytes = await getObject(pool, stowage, key);
        else {
          const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          for await (const chunk of output.Body as Readable) bytes += (chunk as Buffer).length;
        }
        const sample = { mibPerSecond: size / MiB / ((performance.now() - started) / 1000), cpu: cpu() };
        if (bytes !== size) throw new Error(`${path}: read ${bytes} bytes of ${size}`);
        samples.get(path)!.push(sample);
        context.log(`download round ${round + 1} ${path}: ${fixed(sample.mibPerSecond)} MiB/s`);
      }
    }
    await pool.close();
    return [
      throughputTable({
        title: `${size / MiB} MiB download, one at a time (median of ${context.options.rounds} rounds)`,
        samples,
        direct: 'direct GetObject',
        bytes: size,
        notes: [
          `Stowage serves \`GET /v1/storages/${STORAGE}/objects/{key}\` by streaming GetObject's body.`,
        ],
      }),
    ];
  });
}
