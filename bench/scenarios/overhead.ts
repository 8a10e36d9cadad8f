import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveS3Connection, s3ClientConfig } from '../../src/storage/drivers/s3/connection.ts';
import { GiB, KiB, MiB, smallBody } from '../lib/body.ts';
import type { BenchContext } from '../lib/context.ts';
import { getObject, openPool, putObject } from '../lib/http.ts';
import { median } from '../lib/load.ts';
import { type LoadPath, loadRounds } from '../lib/load-rounds.ts';
import { PROXY_CPU, pinLayout } from '../lib/pinning.ts';
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
  const paths: LoadPath[] = [
    { name: 'PUT via Stowage', pid: stowage.pid, run: (key) => putObject(pool, stowage, key, body) },
    ...relays.map((relay) => ({
      name: `PutObject via ${relay.name}`,
      pid: relay.pid,
      run: putVia(relay.client),
    })),
    { name: 'direct PutObject (the SDK call alone)', pid: undefined, run: putVia(client) },
  ];
  // The stub's CPU is not of interest here: no S3 server pids.
  const samples = await loadRounds({
    context,
    label: 'overhead',
    paths,
    concurrency: CONCURRENCY,
    seconds,
    idlePid: stowage.pid,
    s3Pids: [],
  });
  const rows: Row[] = paths.map(({ name, pid }) => {
    const list = samples.get(name) ?? [];
    const errors = list.reduce((sum, sample) => sum + sample.errors, 0);
    if (errors > 0)
      throw new Error(`${name}: ${errors} errors (${list.find((x) => x.firstError)?.firstError})`);
    const per = (side: 'stowage' | 'client') => median(list.map((sample) => sample.cpu[side]));
    return {
      name,
      ...(pid !== undefined && { proxy: per('stowage') }),
      client: per('client'),
      rate: median(list.map((sample) => sample.perSecond)),
    };
  });
  await pool.close();
  return table(
    `${SMALL / KiB} KiB uploads at ${CONCURRENCY} connections against the S3 stub`,
    'uploads/s',
    'CPU ms per upload',
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
  return table(`${size / MiB} MiB download against the S3 stub`, 'GiB/s', 'CPU s per GiB', rows);
}

function table(title: string, rateUnit: string, cpuUnit: string, rows: Row[]): Table {
  return {
    title,
    header: ['path', rateUnit, `${cpuUnit}: Stowage or relay`, 'bench process'],
    rows: rows.map((row) => [
      row.name,
      fixed(row.rate, rateUnit === 'GiB/s' ? 2 : 0),
      row.proxy === undefined ? '—' : fixed(row.proxy, 2),
      fixed(row.client, 2),
    ]),
    notes: [
      'Stowage and the relays on CPU 1 alone; the stub and this process on CPU 0. "bench process" is the ' +
        'load generator on the proxied paths and the S3 client itself on the direct one: its figure there is ' +
        'what the SDK call costs by itself, a share of what Stowage pays per request.',
    ],
  };
}
