import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveS3Connection, s3ClientConfig } from '../../src/storage/drivers/s3/connection.ts';
import { GiB, KiB, MiB, smallBody } from '../lib/body.ts';
import type { BenchContext } from '../lib/context.ts';
import { getObject, openPool, putObject } from '../lib/http.ts';
import { closedLoop, median } from '../lib/load.ts';
import { PROXY_CPU, pinLayout } from '../lib/pinning.ts';
import { type CpuUse, startCpuCount } from '../lib/proc.ts';
import { type Relay, startNodeChild, stopChild, withRelays } from '../lib/relays.ts';
import { fixed, type Table } from '../lib/report.ts';
import { startStowage } from '../lib/stowage.ts';
import { transferRounds } from '../lib/throughput.ts';

/**
 * What Stowage itself costs per request, with the S3 server's cost taken out: Stowage (on CPU 1, a
 * core of its own) in front of an S3 stub that answers at once and stores nothing
 * (bench/relay/stub-s3.ts; the stub, this process and its load on CPU 0). The same requests go
 * straight from an S3 client configured like Stowage's to the stub, and through the reference proxies:
 * the direct client's CPU is what the SDK call alone costs, the relays' what moving the bytes costs.
 * Unlike the other scenarios the figures do not depend on the S3 server's speed or on how the two
 * cores are shared, so they compare across runs and machines of the same kind.
 */

const SMALL = 10 * KiB;
const CONCURRENCY = 64;
const BUCKET = 'stub-bucket';

interface Sample {
  units: number;
  seconds: number;
  proxyCpu: number;
  clientCpu: number;
}

interface Row {
  name: string;
  /** CPU per unit of the proxy (Stowage or relay); undefined on the direct path. */
  proxy?: number;
  /** CPU per unit of this process: the load generator, or the S3 client itself. */
  client: number;
  rate: number;
}

export async function overheadScenario(context: BenchContext): Promise<Table[]> {
  const { child: stub, port } = await startNodeChild('stub-s3.ts');
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = { ...context.s3, connection: { ...context.s3.connection, endpoint } };
  const stubContext: BenchContext = {
    ...context,
    s3,
    options: { ...context.options, layout: 'pinned' as const },
  };
  const stowage = await startStowage(s3, { bucket: BUCKET, cpus: PROXY_CPU });
  const unpin = pinLayout('pinned', [stub.pid as number]);
  const client = new S3Client(s3ClientConfig(resolveS3Connection(s3.connection), endpoint));
  try {
    return await withRelays(stubContext, async (relays) => [
      await smallUploads(context, stowage, client, relays),
      await downloads(context, stowage, client, relays),
    ]);
  } finally {
    client.destroy();
    unpin();
    await stowage.stop();
    await stopChild(stub);
  }
}

interface MeasuredPath {
  name: string;
  /** The proxy (Stowage or relay); undefined on the direct path. */
  pid: number | undefined;
  once(): Promise<Sample>;
}

/**
 * Closed-loop rounds of every path, rotating the order each round as transferRounds does for single
 * transfers (which the download half uses); medians of CPU per unit and of the rate.
 */
async function measure(context: BenchContext, paths: MeasuredPath[]): Promise<Row[]> {
  const samples = new Map<string, Sample[]>(paths.map((path) => [path.name, []]));
  for (let round = 0; round < context.options.rounds; round++) {
    for (const path of paths.map((_, index) => paths[(index + round) % paths.length] as MeasuredPath)) {
      const sample = await path.once();
      samples.get(path.name)?.push(sample);
      context.log(
        `overhead ${path.name} round ${round + 1}: ${fixed(sample.units / sample.seconds, 2)} per second`,
      );
    }
  }
  return paths.map(({ name, pid }) => {
    const list = samples.get(name) ?? [];
    const per = (pick: (s: Sample) => number) => median(list.map((s) => pick(s) / s.units));
    return {
      name,
      ...(pid !== undefined && { proxy: per((s) => s.proxyCpu) }),
      client: per((s) => s.clientCpu),
      rate: median(list.map((s) => s.units / s.seconds)),
    };
  });
}

async function smallUploads(
  context: BenchContext,
  stowage: Awaited<ReturnType<typeof startStowage>>,
  client: S3Client,
  relays: Relay[],
): Promise<Table> {
  const seconds = context.options.quick ? 3 : 8;
  const body = smallBody(SMALL);
  const pool = openPool(stowage, CONCURRENCY);
  const putVia = (via: S3Client) => (key: string) =>
    via.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: SMALL, IfNoneMatch: '*' }),
    );
  const paths: Array<{ name: string; pid: number | undefined; run: (key: string) => Promise<unknown> }> = [
    { name: 'PUT via Stowage', pid: stowage.pid, run: (key) => putObject(pool, stowage, key, body) },
    ...relays.map((relay) => ({
      name: `PutObject via ${relay.name}`,
      pid: relay.pid,
      run: putVia(relay.client),
    })),
    { name: 'direct PutObject (the SDK call alone)', pid: undefined, run: putVia(client) },
  ];
  const rows = await measure(
    context,
    paths.map((path) => ({
      ...path,
      async once() {
        let count: (() => CpuUse) | undefined;
        let used: CpuUse = { stowage: 0, client: 0, s3: 0 };
        const result = await closedLoop({
          concurrency: CONCURRENCY,
          seconds,
          warmupSeconds: 2,
          onWindow: (edge) => {
            // The stub's CPU is not of interest here: no S3 server pids.
            if (edge === 'start') count = startCpuCount(path.pid ?? stowage.pid, []);
            else if (count) used = count();
          },
          task: (n) => path.run(`overhead/${n}`).then(() => undefined),
        });
        if (result.errors > 0)
          throw new Error(`${path.name}: ${result.errors} errors (${result.firstError})`);
        return {
          units: result.requests,
          seconds,
          proxyCpu: path.pid === undefined ? 0 : used.stowage,
          clientCpu: used.client,
        };
      },
    })),
  );
  await pool.close();
  return table(
    `${SMALL / KiB} KiB uploads at ${CONCURRENCY} connections against the S3 stub`,
    'uploads/s',
    'CPU ms per upload',
    1000,
    rows,
  );
}

async function downloads(
  context: BenchContext,
  stowage: Awaited<ReturnType<typeof startStowage>>,
  client: S3Client,
  relays: Relay[],
): Promise<Table> {
  const size = context.options.quick ? 128 * MiB : GiB;
  const key = `overhead/${size}`;
  const pool = openPool(stowage, 1);
  const getVia = (via: S3Client) => async () => {
    const output = await via.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    let bytes = 0;
    for await (const chunk of output.Body as Readable) bytes += (chunk as Buffer).length;
    return bytes;
  };
  const paths = [
    {
      name: 'GET via Stowage',
      pid: stowage.pid as number | undefined,
      run: () => getObject(pool, stowage, key),
    },
    ...relays.map((relay) => ({
      name: `GetObject via ${relay.name}`,
      pid: relay.pid,
      run: getVia(relay.client),
    })),
    { name: 'direct GetObject (the SDK call alone)', pid: undefined, run: getVia(client) },
  ];
  const samples = await transferRounds({
    context,
    label: 'overhead download',
    paths,
    bytes: size,
    idlePid: stowage.pid,
    settle: async (path, bytes) => {
      if (bytes !== size) throw new Error(`${path.name}: read ${bytes} bytes of ${size}`);
    },
  });
  const gib = size / GiB;
  const rows: Row[] = paths.map(({ name, pid }) => {
    const list = samples.get(name) ?? [];
    const per = (side: 'stowage' | 'client') => median(list.map((sample) => sample.cpu[side])) / gib;
    return {
      name,
      ...(pid !== undefined && { proxy: per('stowage') }),
      client: per('client'),
      rate: median(list.map((sample) => sample.mibPerSecond)) / 1024,
    };
  });
  await pool.close();
  return table(`${size / MiB} MiB download against the S3 stub`, 'GiB/s', 'CPU s per GiB', 1, rows);
}

function table(title: string, rateUnit: string, cpuUnit: string, scale: number, rows: Row[]): Table {
  return {
    title,
    header: ['path', rateUnit, `${cpuUnit}: Stowage or relay`, 'bench process'],
    rows: rows.map((row) => [
      row.name,
      fixed(row.rate, rateUnit === 'GiB/s' ? 2 : 0),
      row.proxy === undefined ? '—' : fixed(row.proxy * scale, 2),
      fixed(row.client * scale, 2),
    ]),
    notes: [
      'Stowage and the relays on CPU 1 alone; the stub and this process on CPU 0. "bench process" is the ' +
        'load generator on the proxied paths and the S3 client itself on the direct one: its figure there is ' +
        'what the SDK call costs by itself, a share of what Stowage pays per request.',
    ],
  };
}
