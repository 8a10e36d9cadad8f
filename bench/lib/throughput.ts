import { GiB } from './body.ts';
import { median } from './load.ts';
import type { CpuUse } from './proc.ts';
import { fixed, ratio, type Table } from './report.ts';

/** The table of a large-transfer scenario: rate per path, ratio to the direct path, CPU per GiB. */

export interface TransferSample {
  mibPerSecond: number;
  cpu: CpuUse;
}

export function throughputTable(input: {
  title: string;
  /** Paths in display order; `direct` is the reference. */
  samples: ReadonlyMap<string, TransferSample[]>;
  direct: string;
  bytes: number;
  notes?: string[];
}): Table {
  const reference = median(input.samples.get(input.direct)!.map((s) => s.mibPerSecond));
  const gib = input.bytes / GiB;
  const perGiB = (list: TransferSample[], side: keyof CpuUse) =>
    fixed(median(list.map((s) => s.cpu[side])) / gib, 2);
  return {
    title: input.title,
    header: [
      'path',
      'MiB/s',
      'ratio to direct',
      'rounds (MiB/s)',
      'CPU s/GiB: Stowage',
      'bench process',
      'S3 server',
    ],
    rows: [...input.samples].map(([path, list]) => {
      const rate = median(list.map((s) => s.mibPerSecond));
      const isDirect = path === input.direct;
      return [
        path,
        fixed(rate),
        isDirect ? '1.00×' : ratio(rate, reference),
        list.map((s) => fixed(s.mibPerSecond)).join(', '),
        isDirect ? '—' : perGiB(list, 'stowage'),
        perGiB(list, 'client'),
        perGiB(list, 's3'),
      ];
    }),
    notes: [
      ...(input.notes ?? []),
      'CPU: user + system seconds per GiB moved, of the Stowage process, of the bench process (the load ' +
        'generator on the Stowage paths, the S3 client itself on the direct path) and of the S3 server ' +
        '(radosgw + ceph-osd). All of them share the same 2 cores.',
    ],
  };
}
