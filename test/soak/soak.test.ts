import { describe, expect, it } from 'vitest';
import { median, mib, openFds, rssBytes } from '../support/proc-stats.ts';
import { testSeed } from '../support/seeded-random.ts';
import { untilEmpty } from '../support/until-empty.ts';
import { useStowageProcess } from '../support/use-stowage-process.ts';
import { newTally, SoakClient, type Tally, totalDone } from './workload.ts';

/**
 * Soak: Stowage as a real process under steady mixed traffic (see workload.ts) from 16 clients for
 * SOAK_SECONDS (default 100) after a warm-up. Every answer must be the expected one, the process must
 * hold no more file descriptors at the end than after the warm-up (both read with the traffic paused),
 * and its RSS under load must not grow by 10 % or more: the median of the last samples against the
 * median of the first ones after the warm-up. The series is printed.
 *
 * The warm-up lasts until V8 has sized its heap for the traffic (it grows the young generation once,
 * by ≈ 65 MiB, after 1 000–2 000 requests here, whatever the time that takes) and the allocator has
 * its working set. glibc is pinned to give
 * large blocks back (MALLOC_MMAP_THRESHOLD_, as in test/faults/client-aborts.test.ts): by default its
 * dynamic mmap threshold keeps freed body buffers of every size in its heap, and RSS creeps up for
 * minutes before it levels off (measured here: 256 → 314 MiB over 4 minutes, flat from the third, with
 * the JS heap and ArrayBuffers flat all along and 207 MiB after a forced collection). Pinned, RSS
 * shows what the process holds, which is what a leak would grow.
 */
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 100);
/** RSS levels off after ≈ 6 000 requests here (the young generation grown, the allocator warm). */
const WARM_UP = { seconds: 30, requests: 6000, maxSeconds: 75 };
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
  env: { MALLOC_MMAP_THRESHOLD_: String(128 * 1024) },
  storages: (bucket) => ({
    soak: { driver: 's3', bucket, maxFileSize: '8MiB', partSize: '5MiB', queueSize: 2 },
  }),
});

/** Every client steps until `done()` says so; resolves once all have finished their last step. */
async function drive(clients: SoakClient[], done: () => boolean): Promise<void> {
  await Promise.all(
    clients.map(async (soakClient) => {
      while (!done()) await soakClient.step();
    }),
  );
}

const timeUp = (seconds: number) => {
  const until = Date.now() + seconds * 1000;
  return () => Date.now() >= until;
};

/** The process at rest: traffic paused, a moment for the last answers' cleanup. */
async function atRest(): Promise<{ fds: number; rss: number }> {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return { fds: await openFds(suite.stowage.pid), rss: await rssBytes(suite.stowage.pid) };
}

interface Sample {
  second: number;
  rss: number;
  fds: number;
  done: number;
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
    samples.push({
      second: Math.round((Date.now() - started) / 1000),
      rss: await rssBytes(suite.stowage.pid),
      fds: await openFds(suite.stowage.pid),
      done: totalDone(tally),
    });
  }
}

describe('soak', () => {
  it(
    `${CLIENTS} clients of mixed traffic for ${SOAK_SECONDS} s: no error, no descriptor leak, flat memory`,
    async () => {
      const tally = newTally();
      const clients = Array.from(
        { length: CLIENTS },
        (_, id) => new SoakClient(suite.stowage.url, id, random, tally),
      );
      const warmStarted = Date.now();
      const [minimum, maximum] = [timeUp(WARM_UP.seconds), timeUp(WARM_UP.maxSeconds)];
      await drive(clients, () => maximum() || (minimum() && totalDone(tally) >= WARM_UP.requests));
      const warmUp = { seconds: Math.round((Date.now() - warmStarted) / 1000), requests: totalDone(tally) };
      const warm = await atRest();

      const running = drive(clients, timeUp(SOAK_SECONDS));
      const samples = await sampleWhile(running, tally);
      const end = await atRest();
      for (const soakClient of clients) await soakClient.clear();

      const first = median(samples.slice(0, SAMPLES_COMPARED).map((sample) => sample.rss));
      const last = median(samples.slice(-SAMPLES_COMPARED).map((sample) => sample.rss));
      const measured = totalDone(tally) - warmUp.requests;
      console.log(
        [
          `[soak] seed ${random.seed}: ${measured} requests in ${SOAK_SECONDS} s after a warm-up of ${warmUp.requests} in ${warmUp.seconds} s ` +
            `(${(measured / SOAK_SECONDS).toFixed(0)}/s at ${CLIENTS} clients; ${[...tally.done]
              .map(([operation, count]) => `${operation} ${count}`)
              .join(', ')}), ${tally.errors.length} errors`,
          `  at rest: after warm-up ${warm.fds} fds, RSS ${mib(warm.rss)}; at the end ${end.fds} fds, RSS ${mib(end.rss)}`,
          `  RSS under load: median of the first ${SAMPLES_COMPARED} samples ${mib(first)}, of the last ${SAMPLES_COMPARED} ` +
            `${mib(last)} (${(((last - first) / first) * 100).toFixed(1)} %)`,
          '  second   RSS        fds  requests',
          ...samples.map(
            (sample) =>
              `  ${String(sample.second).padStart(6)}  ${mib(sample.rss).padStart(10)}  ${String(sample.fds).padStart(4)}  ${sample.done}`,
          ),
        ].join('\n'),
      );

      expect(tally.errors.slice(0, 20)).toEqual([]);
      expect(suite.stowage.alive()).toBe(true);
      expect(suite.stowage.logs().filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
      expect(await untilEmpty(suite.backend)).toMatchObject({ keys: [], leftovers: [] });
      expect(samples.length).toBeGreaterThanOrEqual(2 * SAMPLES_COMPARED);
      expect(end.fds).toBeLessThanOrEqual(warm.fds + FD_SLACK);
      expect(last).toBeLessThan(first * (1 + MAX_RSS_GROWTH));
    },
    (WARM_UP.maxSeconds + SOAK_SECONDS + 120) * 1000,
  );
});
