import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInspector, type Inspector } from '../support/inspector.ts';
import { median, mib, openFds, rssBytes } from '../support/proc-stats.ts';
import { testSeed } from '../support/seeded-random.ts';
import { untilEmpty } from '../support/until-empty.ts';
import { useStowageProcess } from '../support/use-stowage-process.ts';
import { newTally, SoakClient, type Tally, totalDone } from './workload.ts';

/**
 * Soak: Stowage as a real process under steady mixed traffic (see workload.ts) from 16 clients for
 * SOAK_SECONDS (default 120) after a 30 s warm-up. Every answer must be the expected one, the process
 * must hold no more file descriptors at the end than after the warm-up (both read with the traffic
 * paused), and the memory it retains must not grow by 10 % or more: the median RSS of the last samples
 * against that of the first ones after the warm-up. The series is printed.
 *
 * Each sample is taken right after a full collection, forced through the inspector (as a heap
 * snapshot would): under load, V8 collects when it sees fit, so RSS read at a random moment also holds
 * whatever garbage (request objects, body buffers) has piled up since the last collection. Measured
 * here that way, it swings between 200 and 310 MiB with the request rate alone (which a shared machine
 * does not keep steady), and a 100 s run once "grew" 13 %; read after a collection it stays within a
 * few MiB for minutes, so what remains is what a leak would grow. The RSS just before each collection
 * is printed too. The JS heap after the collection (≈ 30 MiB, steady to ± 1 MiB) is held to the same
 * 10 %: a leak of JS objects shows there long before it shows in RSS.
 */
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const WARM_UP_SECONDS = 30;
const CLIENTS = 16;
const SAMPLE_EVERY_MS = 5000;
/** Samples on each side of the RSS comparison. */
const SAMPLES_COMPARED = 5;
const MAX_RSS_GROWTH = 0.1;
/** Keep-alive sockets (clients → Stowage → S3) come and go with the traffic; a leak grows with it. */
const FD_SLACK = 16;

const random = testSeed('soak');
const suite = useStowageProcess({
  label: 'soak',
  inspect: true,
  storages: (bucket) => ({
    soak: { driver: 's3', bucket, maxFileSize: '8MiB', partSize: '5MiB', queueSize: 2 },
  }),
});
let inspector: Inspector;

beforeAll(async () => {
  inspector = await connectInspector(suite.stowage.inspectorUrl ?? '');
});

afterAll(() => inspector?.close());

/** Every client steps for `seconds`; resolves once all have finished their last step. */
async function drive(clients: SoakClient[], seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    clients.map(async (soakClient) => {
      while (Date.now() < until) await soakClient.step();
    }),
  );
}

/** The process at rest: traffic paused, a moment for the last answers' cleanup. */
async function atRest(): Promise<{ fds: number; rss: number }> {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return { fds: await openFds(suite.stowage.pid), rss: await rssBytes(suite.stowage.pid) };
}

interface Sample {
  second: number;
  /** Before and after the forced collection. */
  rssBefore: number;
  rss: number;
  heapUsed: number;
  fds: number;
  done: number;
}

async function sample(started: number, tally: Tally): Promise<Sample> {
  const rssBefore = await rssBytes(suite.stowage.pid);
  await inspector.collectGarbage();
  const { heapUsed } = await inspector.memoryUsage();
  return {
    second: Math.round((Date.now() - started) / 1000),
    rssBefore,
    rss: await rssBytes(suite.stowage.pid),
    heapUsed,
    fds: await openFds(suite.stowage.pid),
    done: totalDone(tally),
  };
}

/** Samples every SAMPLE_EVERY_MS until `running` settles. */
async function sampleWhile(running: Promise<void>, tally: Tally): Promise<Sample[]> {
  const samples: Sample[] = [];
  const started = Date.now();
  let finished = false;
  void running.finally(() => {
    finished = true;
  });
  for (;;) {
    await Promise.race([running, new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS))]);
    if (finished) return samples;
    samples.push(await sample(started, tally));
  }
}

/** The median of a figure over the first samples, and over the last ones. */
const compared = (samples: Sample[], figure: (s: Sample) => number): [number, number] => [
  median(samples.slice(0, SAMPLES_COMPARED).map(figure)),
  median(samples.slice(-SAMPLES_COMPARED).map(figure)),
];

const row = (s: Sample) =>
  `  ${String(s.second).padStart(6)}  ${mib(s.rss).padStart(10)}  ${mib(s.rssBefore).padStart(10)}  ` +
  `${mib(s.heapUsed).padStart(9)}  ${String(s.fds).padStart(4)}  ${s.done}`;

describe('soak', () => {
  it(
    `${CLIENTS} clients of mixed traffic for ${SOAK_SECONDS} s: no error, no descriptor leak, flat memory`,
    async () => {
      const tally = newTally();
      const clients = Array.from(
        { length: CLIENTS },
        (_, id) => new SoakClient(suite.stowage.url, id, random, tally),
      );
      // The warm-up is sampled (and collected) like the run, so the run starts in the same regime.
      await sampleWhile(drive(clients, WARM_UP_SECONDS), tally);
      const warm = await atRest();
      const warmDone = totalDone(tally);

      const samples = await sampleWhile(drive(clients, SOAK_SECONDS), tally);
      const end = await atRest();
      for (const soakClient of clients) await soakClient.clear();

      const [first, last] = compared(samples, (s) => s.rss);
      const [firstHeap, lastHeap] = compared(samples, (s) => s.heapUsed);
      const measured = totalDone(tally) - warmDone;
      console.log(
        [
          `[soak] seed ${random.seed}: ${measured} requests in ${SOAK_SECONDS} s after a ${WARM_UP_SECONDS} s warm-up ` +
            `(${(measured / SOAK_SECONDS).toFixed(0)}/s at ${CLIENTS} clients; ${[...tally.done]
              .map(([operation, count]) => `${operation} ${count}`)
              .join(', ')}), ${tally.errors.length} errors`,
          `  at rest: after warm-up ${warm.fds} fds, RSS ${mib(warm.rss)}; at the end ${end.fds} fds, RSS ${mib(end.rss)}`,
          `  RSS after a collection: median of the first ${SAMPLES_COMPARED} samples ${mib(first)}, ` +
            `of the last ${SAMPLES_COMPARED} ${mib(last)} (${(((last - first) / first) * 100).toFixed(1)} %)`,
          `  JS heap after a collection: ${mib(firstHeap)}, then ${mib(lastHeap)}`,
          '  second         RSS  RSS before  JS heap   fds  requests',
          ...samples.map(row),
        ].join('\n'),
      );

      expect(tally.errors.slice(0, 20)).toEqual([]);
      expect(suite.stowage.alive()).toBe(true);
      expect(suite.stowage.logs().filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
      expect(await untilEmpty(suite.backend)).toMatchObject({ keys: [], leftovers: [] });
      expect(samples.length).toBeGreaterThanOrEqual(2 * SAMPLES_COMPARED);
      expect(end.fds).toBeLessThanOrEqual(warm.fds + FD_SLACK);
      expect(last).toBeLessThan(first * (1 + MAX_RSS_GROWTH));
      expect(lastHeap).toBeLessThan(firstHeap * (1 + MAX_RSS_GROWTH));
    },
    (WARM_UP_SECONDS + SOAK_SECONDS + 120) * 1000,
  );
});
