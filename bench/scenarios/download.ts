import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GiB, MiB } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { getObject, openPool, putObject, STORAGE } from '../lib/http.ts';
import { withRelays } from '../lib/relays.ts';
import type { Table } from '../lib/report.ts';
import { type TransferPath, throughputTable, transferRounds } from '../lib/throughput.ts';

/**
 * A large object read whole, one read at a time: GET through Stowage (proxied) against GetObject
 * straight from S3, taking turns round after round. Both sides count the bytes and drop them. With
 * STOWAGE_BENCH_BEFORE, the other tree's GET is a path too.
 */

const DIRECT = 'direct GetObject';

async function directGet(client: S3Client, bucket: string, key: string): Promise<number> {
  const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let bytes = 0;
  for await (const chunk of output.Body as Readable) bytes += (chunk as Buffer).length;
  return bytes;
}

export async function downloadScenario(context: BenchContext): Promise<Table[]> {
  const size = context.options.quick ? 128 * MiB : GiB;
  const { client } = context.s3;
  return withStowage(context, 'download', {}, (stowage, bucket, before) =>
    withRelays(context, async (relays) => {
      const pool = openPool(stowage, 1);
      const beforePool = before && openPool(before, 1);
      const key = 'download/large';
      await putObject(pool, stowage, key, size);
      // Each path resolves with the number of bytes it received.
      const paths: Array<TransferPath<number>> = [
        { name: 'GET via Stowage', pid: stowage.pid, run: () => getObject(pool, stowage, key) },
        ...(before && beforePool
          ? [
              {
                name: 'GET via Stowage (before)',
                pid: before.pid,
                run: () => getObject(beforePool, before, key),
              },
            ]
          : []),
        ...relays.map((relay) => ({
          name: `GetObject via ${relay.name}`,
          pid: relay.pid,
          run: () => directGet(relay.client, bucket, key),
        })),
        { name: DIRECT, pid: undefined, run: () => directGet(client, bucket, key) },
        {
          name: `${DIRECT}, SDK's default HTTP handler`,
          pid: undefined,
          run: () => directGet(context.s3.defaultHandlerClient, bucket, key),
        },
      ];
      const samples = await transferRounds({
        context,
        label: 'download',
        paths,
        bytes: size,
        idlePid: stowage.pid,
        settle: async (path, bytes) => {
          if (bytes !== size) throw new Error(`${path.name}: read ${bytes} bytes of ${size}`);
        },
      });
      await pool.close();
      await beforePool?.close();
      return [
        throughputTable({
          title: `${size / MiB} MiB download, one at a time (median of ${context.options.rounds} rounds)`,
          samples,
          direct: DIRECT,
          bytes: size,
          notes: [
            `Stowage serves \`GET /v1/storages/${STORAGE}/objects/{key}\` by streaming GetObject's body.`,
          ],
        }),
      ];
    }),
  );
}
