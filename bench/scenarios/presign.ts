import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseConfig } from '../../src/config/load.ts';
import { createS3Clients, resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';
import { closeStorages, createLinks, createStorages } from '../../src/storage/registry.ts';
import { KiB, smallBody } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { openPool, putObject, requestUrl } from '../lib/http.ts';
import { closedLoop, median, tightLoop } from '../lib/load.ts';
import { cpuSeconds, ownCpuSeconds } from '../lib/proc.ts';
import { fixed, type Table } from '../lib/report.ts';
import { benchConfig } from '../lib/stowage.ts';

/**
 * Presigned URLs per second on one core. Three levels:
 * - the SDK's presigner alone (`getSignedUrl`), in this process, one call after another;
 * - Stowage's S3 driver (`presignGet`: credentials, expiry clamp, presigner), in this process;
 * - the URL route (`POST /v1/storages/bench/urls`) over HTTP at 16 connections, which also checks
 *   that the object exists (a HeadObject to S3) and authenticates the caller.
 * A Node process runs JavaScript on one core, so "per core" is requests per CPU-second of the process
 * doing the work; the wall-clock rate of the route also waits on S3 and shares the machine.
 */

const CONCURRENCY = 16;

export async function presignScenario(context: BenchContext): Promise<Table[]> {
  const seconds = context.options.quick ? 2 : 5;
  return withStowage(context, 'presign', {}, async (stowage, bucket) => {
    const key = 'presign/object.bin';
    const pool = openPool(stowage, CONCURRENCY);
    await putObject(pool, stowage, key, smallBody(KiB));

    const rows: Table['rows'] = [];
    const inProcess = async (label: string, call: () => Promise<unknown>) => {
      const rates: number[] = [];
      const perCpu: number[] = [];
      for (let round = 0; round < context.options.rounds; round++) {
        const cpu0 = ownCpuSeconds();
        const wall0 = performance.now();
        const rate = await tightLoop(seconds, call);
        const cpuShare = (ownCpuSeconds() - cpu0) / ((performance.now() - wall0) / 1000);
        rates.push(rate);
        perCpu.push(rate / Math.max(cpuShare, 1e-9));
      }
      rows.push([label, fixed(median(rates)), fixed(median(perCpu)), rates.map((r) => fixed(r)).join(', ')]);
      context.log(`presign ${label}: ${fixed(median(rates))}/s`);
    };

    // The SDK presigner with a client configured as Stowage configures its presign client.
    const { presignClient } = createS3Clients(resolveS3Connection(context.s3.connection));
    await inProcess('SDK getSignedUrl (in process)', () =>
      getSignedUrl(presignClient, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 600 }),
    );
    presignClient.destroy();

    // Stowage's own driver, built from the same config the child runs with.
    const config = parseConfig(benchConfig(context.s3, { bucket }).document, {}, 'bench');
    const storages = createStorages(config, createLinks(config));
    const driver = storages.get('bench')!.driver;
    await inProcess('Stowage S3 driver presignGet (in process)', () =>
      driver.presignGet({ key, expiresInSeconds: 600 }),
    );
    await closeStorages(storages);

    const rates: number[] = [];
    const perCpu: number[] = [];
    for (let round = 0; round < context.options.rounds; round++) {
      let cpuStart = 0;
      let cpuEnd = 0;
      const result = await closedLoop({
        concurrency: CONCURRENCY,
        seconds,
        warmupSeconds: 1,
        onWindow: (edge) => {
          if (edge === 'start') cpuStart = cpuSeconds(stowage.pid);
          else cpuEnd = cpuSeconds(stowage.pid);
        },
        task: async () => {
          await requestUrl(pool, stowage, key);
        },
      });
      if (result.errors > 0) throw new Error(`URL route: ${result.errors} errors (${result.firstError})`);
      rates.push(result.perSecond);
      perCpu.push(result.requests / Math.max(cpuEnd - cpuStart, 1e-9));
    }
    await pool.close();
    rows.push([
      `URL route over HTTP (${CONCURRENCY} connections; HeadObject + presign)`,
      fixed(median(rates)),
      fixed(median(perCpu)),
      rates.map((r) => fixed(r)).join(', '),
    ]);
    context.log(`presign route: ${fixed(median(rates))}/s`);
    return [
      {
        title: `Presigned URLs (median of ${context.options.rounds} rounds of ${seconds} s)`,
        header: ['what', 'URLs/s (wall clock)', 'URLs per CPU-second (one core)', 'rounds (URLs/s)'],
        rows,
      },
    ];
  });
}
