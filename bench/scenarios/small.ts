import { basename } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { newWriteId } from '../../src/storage/drivers/s3/create-only.ts';
import { metaKeys } from '../../src/storage/drivers/s3/metadata.ts';
import { KiB, smallBody } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { openPool, postObject, putObject } from '../lib/http.ts';
import { median } from '../lib/load.ts';
import { type LoadPath, loadRounds } from '../lib/load-rounds.ts';
import { type CpuUse, s3ServerPids } from '../lib/proc.ts';
import { withRelays } from '../lib/relays.ts';
import { fixed, ratio, type Table } from '../lib/report.ts';

/**
 * Many small uploads at once: 10 KiB bodies, 64 connections, closed loop (each connection sends its
 * next upload when the last one is answered). Through Stowage (raw PUT, and multipart POST) against
 * PutObject straight to S3 with the same concurrency, taking turns round after round.
 */

const SIZE = 10 * KiB;
const CONCURRENCY = 64;

const DIRECT = 'direct PutObject';
const AS_STOWAGE = "direct PutObject as Stowage sends it (If-None-Match: *, Stowage's headers)";

export async function smallScenario(context: BenchContext): Promise<Table[]> {
  const seconds = context.options.quick ? 3 : 10;
  const body = smallBody(SIZE);
  const { client } = context.s3;
  const s3Pids = s3ServerPids();
  return withStowage(context, 'small', {}, (stowage, bucket, before) =>
    withRelays(context, async (relays) => {
      const pool = openPool(stowage, CONCURRENCY);
      const beforePool = before && openPool(before, CONCURRENCY);
      // "as-stowage" is the request Stowage makes for a raw PUT of this body: create-only, with the
      // Content-Disposition and the write id it stores (create-only.ts). What it costs the S3 server
      // beyond the plain PutObject is the price of the request's shape, not of the hop.
      const putDirect =
        (shape: 'plain' | 'create-only' | 'as-stowage', via = client) =>
        (key: string) =>
          via.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: body,
              ContentLength: SIZE,
              ContentType: 'application/octet-stream',
              ...(shape !== 'plain' && { IfNoneMatch: '*' }),
              ...(shape === 'as-stowage' && {
                ContentDisposition: `attachment; filename="${basename(key)}"`,
                Metadata: { [metaKeys.writeId]: newWriteId() },
              }),
            }),
          );
      const paths: LoadPath[] = [
        { name: 'PUT via Stowage', pid: stowage.pid, run: (key) => putObject(pool, stowage, key, body) },
        {
          name: 'POST (multipart) via Stowage',
          pid: stowage.pid,
          run: () => postObject(pool, stowage, SIZE),
        },
        ...(before && beforePool
          ? [
              {
                name: 'PUT via Stowage (before)',
                pid: before.pid,
                run: (key: string) => putObject(beforePool, before, key, body),
              },
            ]
          : []),
        ...relays.map((relay) => ({
          name: `PutObject via ${relay.name}`,
          pid: relay.pid,
          run: putDirect('plain', relay.client),
        })),
        { name: DIRECT, pid: undefined, run: putDirect('plain') },
        { name: 'direct PutObject, If-None-Match: *', pid: undefined, run: putDirect('create-only') },
        { name: AS_STOWAGE, pid: undefined, run: putDirect('as-stowage') },
        {
          name: `${DIRECT}, SDK's default HTTP handler`,
          pid: undefined,
          run: putDirect('plain', context.s3.defaultHandlerClient),
        },
      ];
      const samples = await loadRounds({
        context,
        label: 'small',
        paths,
        concurrency: CONCURRENCY,
        seconds,
        idlePid: stowage.pid,
        s3Pids,
      });
      await pool.close();
      await beforePool?.close();
      const summary = (name: string) => {
        const list = samples.get(name)!;
        return {
          list,
          rate: median(list.map((s) => s.perSecond)),
          p50: median(list.map((s) => s.p50)),
          p99: median(list.map((s) => s.p99)),
          errors: list.reduce((sum, s) => sum + s.errors, 0),
          cpu: (side: keyof CpuUse) => median(list.map((s) => s.cpu[side])),
        };
      };
      const direct = summary(DIRECT);
      const directCpu = direct.cpu('client') + direct.cpu('s3');
      return [
        {
          title: `${SIZE / KiB} KiB uploads, ${CONCURRENCY} connections (median of ${context.options.rounds} rounds of ${seconds} s)`,
          header: [
            'path',
            'uploads/s',
            'ratio to direct',
            'rounds (uploads/s)',
            'p50 ms',
            'p99 ms',
            'added p50 / p99 ms',
            'CPU ms/upload: Stowage or relay',
            'bench process',
            'S3 server',
            'all',
            'ratio at equal CPU',
            'errors',
          ],
          rows: paths.map(({ name }) => {
            const s = summary(name);
            const all = s.cpu('stowage') + s.cpu('client') + s.cpu('s3');
            return [
              name,
              fixed(s.rate),
              ratio(s.rate, direct.rate),
              s.list.map((x) => fixed(x.perSecond)).join(', '),
              fixed(s.p50, 1),
              fixed(s.p99, 1),
              name === DIRECT ? '—' : `${fixed(s.p50 - direct.p50, 1)} / ${fixed(s.p99 - direct.p99, 1)}`,
              name.startsWith('direct') ? '—' : fixed(s.cpu('stowage'), 2),
              fixed(s.cpu('client'), 2),
              fixed(s.cpu('s3'), 2),
              fixed(all, 2),
              ratio(directCpu, all),
              s.errors,
            ];
          }),
          notes: [
            'Latency is per upload as the load generator sees it (closed loop: with 64 uploads always in ' +
              'flight, it grows with whatever is slowest). Stowage writes create-only (PutObject with ' +
              'If-None-Match: *); the ratio and added latency are against the plain PutObject. On the direct ' +
              'path the If-None-Match row shows what the condition costs the S3 server, the "as Stowage sends ' +
              'it" row what the whole request Stowage makes costs (the condition, Content-Disposition and the ' +
              'write id): the part of the ratio that is the request, not the hop. CPU: milliseconds per upload ' +
              '(medians) of the Stowage process, the bench process and the S3 server (radosgw + ceph-osd); "ratio ' +
              'at equal CPU" as in the throughput tables.',
          ],
        },
      ];
    }),
  );
}
