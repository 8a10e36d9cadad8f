import { GiB, MiB } from './body.ts';
import type { BenchContext } from './context.ts';
import { median } from './load.ts';
import { type CpuUse, peakRssMiB, resetPeak, s3ServerPids, startCpuCount } from './proc.ts';
import { fixed, ratio, type Table } from './report.ts';

/**
 * The table of a large-transfer scenario: rate per path and its ratio to the direct path, and the
 * CPU each side spent per GiB. On this machine every process shares the same two cores, so the CPU
 * sum per GiB predicts the rate once the cores are saturated: "ratio at equal CPU" is the direct
 * path's sum over this path's, a figure that other load on the machine moves far less than MiB/s.
 */

export interface TransferSample {
  mibPerSecond: number;
  cpu: CpuUse;
  /** Peak RSS (MiB) during the transfer, when the rounds measure it (`peakRss`). */
  peakRss?: {
    /** The path's server process (Stowage, a relay, a peer); absent on the direct path. */
    server: number | undefined;
    /** This process: the load generator, or the direct S3 client. */
    bench: number;
  };
}

const total = (cpu: CpuUse) => cpu.stowage + cpu.client + cpu.s3;

export function throughputTable(input: {
  title: string;
  /** Paths in display order; `direct` is the reference. */
  samples: ReadonlyMap<string, TransferSample[]>;
  direct: string;
  bytes: number;
  notes?: string[];
  /** What the server-side CPU column names (default: "Stowage or relay"). */
  server?: string;
}): Table {
  const directSamples = input.samples.get(input.direct)!;
  const reference = median(directSamples.map((s) => s.mibPerSecond));
  const gib = input.bytes / GiB;
  const cpuOf = (list: TransferSample[], side: keyof CpuUse | 'total') =>
    median(list.map((s) => (side === 'total' ? total(s.cpu) : s.cpu[side]))) / gib;
  const directCpu = cpuOf(directSamples, 'total');
  const server = input.server ?? 'Stowage or relay';
  // Peak RSS columns only when the rounds measured it.
  const withPeaks = directSamples.some((sample) => sample.peakRss !== undefined);
  const peakOf = (list: TransferSample[], side: 'server' | 'bench') => {
    const values = list.flatMap((sample) => {
      const value = sample.peakRss?.[side];
      return value === undefined ? [] : [value];
    });
    return values.length === 0 ? '—' : fixed(Math.max(...values));
  };
  return {
    title: input.title,
    header: [
      'path',
      'MiB/s',
      'ratio to direct',
      'rounds (MiB/s)',
      ...(withPeaks ? [`peak RSS MiB: ${server}`, 'bench process'] : []),
      `CPU s/GiB: ${server}`,
      'bench process',
      'S3 server',
      'all',
      'ratio at equal CPU',
    ],
    rows: [...input.samples].map(([path, list]) => {
      const rate = median(list.map((s) => s.mibPerSecond));
      // Every direct path (the reference and its variants) is named after the reference.
      const isDirect = path.startsWith(input.direct);
      const all = cpuOf(list, 'total');
      return [
        path,
        fixed(rate),
        ratio(rate, reference),
        list.map((s) => fixed(s.mibPerSecond)).join(', '),
        ...(withPeaks ? [peakOf(list, 'server'), peakOf(list, 'bench')] : []),
        isDirect ? '—' : fixed(cpuOf(list, 'stowage'), 2),
        fixed(cpuOf(list, 'client'), 2),
        fixed(cpuOf(list, 's3'), 2),
        fixed(all, 2),
        ratio(directCpu, all),
      ];
    }),
    notes: [
      ...(input.notes ?? []),
      ...(withPeaks
        ? [
            'Peak RSS: the highest VmHWM over the rounds, reset (clear_refs) before each transfer, of the ' +
              "path's server process and of the bench process.",
          ]
        : []),
      'CPU: user + system seconds per GiB moved (medians), of the Stowage process, of the bench process ' +
        '(the load generator on the Stowage paths, the S3 client itself on the direct path) and of the S3 ' +
        'server (radosgw + ceph-osd), which all share the same 2 cores; "ratio at equal CPU" is the direct ' +
        "path's total over this path's: the rate ratio to expect once the cores are the limit.",
    ],
  };
}

export interface TransferPath<T> {
  name: string;
  /** The Stowage process doing the work; absent on the direct path. */
  pid: number | undefined;
  /** One transfer of the scenario's size in round `round`; the result goes to `settle`. */
  run(round: number): Promise<T>;
}

/**
 * Runs every path once per round, rotating the order each round so no path always runs first (or
 * right after a garbage collection), and counts the time and CPU of each transfer of `bytes`.
 */
export async function transferRounds<T>(input: {
  context: BenchContext;
  label: string;
  paths: ReadonlyArray<TransferPath<T>>;
  bytes: number;
  /** Stowage's pid, for CPU counting on the direct path (where it stays idle). */
  idlePid: number;
  /** After each transfer: check or clean up what it did. */
  settle?: (path: TransferPath<T>, result: T) => Promise<void>;
  /** After each round. */
  afterRound?: () => Promise<void>;
  /** Also measure the peak RSS of the path's process and of this one during each transfer. */
  peakRss?: boolean;
}): Promise<Map<string, TransferSample[]>> {
  const { context, paths } = input;
  const s3Pids = s3ServerPids();
  const samples = new Map<string, TransferSample[]>(paths.map((path) => [path.name, []]));
  for (let round = 0; round < context.options.rounds; round++) {
    for (const path of paths.map((_, index) => paths[(index + round) % paths.length]!)) {
      if (input.peakRss) {
        if (path.pid !== undefined) resetPeak(path.pid);
        resetPeak(process.pid);
      }
      const cpu = startCpuCount(path.pid ?? input.idlePid, s3Pids);
      const started = performance.now();
      const result = await path.run(round);
      const sample: TransferSample = {
        mibPerSecond: input.bytes / MiB / ((performance.now() - started) / 1000),
        cpu: cpu(),
      };
      if (input.peakRss)
        sample.peakRss = {
          server: path.pid === undefined ? undefined : peakRssMiB(path.pid),
          bench: peakRssMiB(process.pid),
        };
      if (path.pid === undefined) sample.cpu.stowage = 0;
      samples.get(path.name)!.push(sample);
      context.log(`${input.label} round ${round + 1} ${path.name}: ${fixed(sample.mibPerSecond)} MiB/s`);
      await input.settle?.(path, result);
    }
    await input.afterRound?.();
  }
  return samples;
}
