import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseConfig } from '../../src/config/load.ts';
import { createS3Clients, resolveS3Connection } from '../../src/storage/drivers/s3/connection.ts';
import { closeStorages, createLinks, createStorages } from '../../src/storage/registry.ts';
import { KiB, smallBody } from '../lib/body.ts';
import { type BenchContext, withStowage } from '../lib/context.ts';
import { openPool, putObject, requestUrl, requestUrls } from '../lib/http.ts';
import { closedLoop, median, tightLoop } from '../lib/load.ts';
import { type CpuUse, ownCpuSeconds, s3ServerPids, startCpuCount } from '../lib/proc.ts';
import { fixed, type Table } from '../lib/report.ts';
import { benchConfig, type Stowage, startStowage } from '../lib/stowage.ts';

/**
 * Presigned URLs per second on one core. Three levels:
 * - the SDK's presigner alone (`getSignedUrl`), in this process, one call after another;
 * - Stowage's S3 driver (`presignGet`: credentials, expiry clamp, presigner), in this process;
 * - the URL route (`POST /v1/storages/bench/urls`) over HTTP, one key per request at 16 connections
 *   (and the STOWAGE_BENCH_BEFORE tree's), and in bulk (`{"keys": [...]}`), each link checked with a
 *   HeadObject to S3 — and in bulk against the same storage with `presign.check: none` (no HEAD);
 *   per link, the CPU of the Stowage process and of the S3 server.
 * A Node process runs JavaScript on one core, so "per core" is requests per CPU-second of the process
 * doing the work; the wall-clock rate of the route also waits on S3 and shares the machine.
 */

const CONCURRENCY = 16;
/** Bulk requests: keys per request and connections (a gallery page, and the largest request). */
const BULK = [
  { keys: 100, connections: 4 },
  { keys: 1000, connections: 2 },
] as const;
/** Distinct objects the links point at. */
const OBJECTS = 200;

interface RoutePath {
  label: string;
  target: Stowage;
  /** Keys per request; 0 for the single form. */
  keys: number;
  connections: number;
}

export async function presignScenario(context: BenchContext): Promise<Table[]> {
  const seconds = context.options.quick ? 2 : 5;
  return withStowage(context, 'presign', {}, async (stowage, bucket, before) => {
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

    // The routes over HTTP, paths taking turns round by round: links per second, and what each link
    // cost the Stowage process and the S3 server (the HEAD behind every link).
    const s3Pids = s3ServerPids();
    // The same storage with `presign.check: none`: links signed without a HEAD (issue 16).
    const unchecked = await startStowage(context.s3, { bucket, profile: { presign: { check: 'none' } } });
    const paths: RoutePath[] = [
      {
        label: `URL route, one key per request (${CONCURRENCY} connections)`,
        target: stowage,
        keys: 0,
        connections: CONCURRENCY,
      },
      ...(before
        ? [
            {
              label: `URL route, one key per request (${CONCURRENCY} connections) (before)`,
              target: before,
              keys: 0,
              connections: CONCURRENCY,
            },
          ]
        : []),
      ...BULK.map(({ keys, connections }) => ({
        label: `URL route, ${keys} keys per request (${connections} connections)`,
        target: stowage,
        keys,
        connections,
      })),
      ...BULK.map(({ keys, connections }) => ({
        label: `URL route, ${keys} keys per request (${connections} connections), presign.check none`,
        target: unchecked,
        keys,
        connections,
      })),
    ];
    const measured = paths.map(() => ({
      rates: [] as number[],
      stowageUs: [] as number[],
      s3Us: [] as number[],
    }));
    const pools = paths.map((path) => openPool(path.target, path.connections));
    const keys = Array.from({ length: OBJECTS }, (_, i) => `presign/${i}.bin`);
    for (const key of keys) await putObject(pool, stowage, key, smallBody(KiB));
    for (let round = 0; round < context.options.rounds; round++) {
      for (const [index, path] of paths.entries()) {
        const pathPool = pools[index]!;
        let count: (() => CpuUse) | undefined;
        let cpu: CpuUse | undefined;
        const result = await closedLoop({
          concurrency: path.connections,
          seconds,
          warmupSeconds: 1,
          onWindow: (edge) => {
            if (edge === 'start') count = startCpuCount(path.target.pid, s3Pids);
            else cpu = count?.();
          },
          task: async (n) => {
            if (path.keys === 0) await requestUrl(pathPool, path.target, keys[n % OBJECTS]!);
            else {
              const asked = Array.from({ length: path.keys }, (_, i) => keys[(n * path.keys + i) % OBJECTS]!);
              const links = await requestUrls(pathPool, path.target, asked);
              if (links !== path.keys) throw new Error(`${links} of ${path.keys} links`);
            }
          },
        });
        if (result.errors > 0)
          throw new Error(`${path.label}: ${result.errors} errors (${result.firstError})`);
        const links = result.requests * Math.max(path.keys, 1);
        measured[index]!.rates.push(links / result.seconds);
        measured[index]!.stowageUs.push(((cpu?.stowage ?? 0) / links) * 1e6);
        measured[index]!.s3Us.push(((cpu?.s3 ?? 0) / links) * 1e6);
        context.log(`presign ${path.label}: ${fixed(links / result.seconds)} links/s`);
      }
    }
    for (const pathPool of pools) await pathPool.close();
    await pool.close();
    await unchecked.stop();
    const routeRows = paths.map((path, index) => {
      const { rates, stowageUs, s3Us } = measured[index]!;
      return [
        path.label,
        fixed(median(rates)),
        fixed(median(stowageUs)),
        fixed(median(s3Us)),
        fixed(1e6 / median(stowageUs)),
        rates.map((r) => fixed(r)).join(', '),
      ];
    });
    return [
      {
        title: `Presigned URLs in process (median of ${context.options.rounds} rounds of ${seconds} s)`,
        header: ['what', 'URLs/s (wall clock)', 'URLs per CPU-second (one core)', 'rounds (URLs/s)'],
        rows,
      },
      {
        title: `Presigned URLs over HTTP, one HEAD per link unless presign.check none (median of ${context.options.rounds} rounds of ${seconds} s, paths taking turns)`,
        header: [
          'path',
          'links/s (wall clock)',
          'Stowage CPU µs/link',
          'S3 server CPU µs/link',
          'links per Stowage CPU-second',
          'rounds (links/s)',
        ],
        rows: routeRows,
      },
    ];
  });
}
