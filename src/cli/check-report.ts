/** What `stowage check` found for one storage, step by step; shared by the S3 and local checks. */

// `public`: a public storage's probe object read anonymously at its public URL (S3 only).
export const STEPS = [
  'bucket',
  'put',
  'read',
  'public',
  'list',
  'conditions',
  'multipart',
  'delete',
  'lifecycle',
  'cors',
] as const;
export type StepName = (typeof STEPS)[number];

/** ok; fail: Stowage will not work; warn: it works, but something an operator should fix; skip: not tried. */
export type StepStatus = 'ok' | 'fail' | 'warn' | 'skip';

export interface Step {
  status: StepStatus;
  /** What is wrong, naming the permission and ARN where S3 refused. */
  problem?: string;
  /** A short note for the table (e.g. "abort after 1d"). */
  note?: string;
}

export interface StorageReport {
  storage: string;
  driver: 's3' | 'local';
  /** s3://bucket/prefix or the directory. */
  where: string;
  steps: Record<StepName, Step>;
}

export function newReport(storage: string, driver: 's3' | 'local', where: string): StorageReport {
  const steps = Object.fromEntries(STEPS.map((step) => [step, { status: 'skip' }])) as Record<StepName, Step>;
  return { storage, driver, where, steps };
}

const HEADERS: Record<StepName, string> = {
  bucket: 'EXISTS',
  put: 'PUT',
  read: 'READ',
  public: 'PUBLIC',
  list: 'LIST',
  conditions: 'CREATE-ONLY',
  multipart: 'MULTIPART',
  delete: 'DELETE',
  lifecycle: 'LIFECYCLE',
  cors: 'CORS',
};

const cell = (step: Step): string => {
  const mark = { ok: 'ok', fail: 'FAIL', warn: 'warn', skip: '-' }[step.status];
  return step.note ? `${mark} (${step.note})` : mark;
};

/** A plain-text table (no colours: it goes to logs and CI output as often as to a terminal). */
export function formatTable(reports: readonly StorageReport[]): string {
  const rows = [
    ['STORAGE', 'WHERE', ...STEPS.map((step) => HEADERS[step])],
    ...reports.map((report) => [
      report.storage,
      report.where,
      ...STEPS.map((step) => cell(report.steps[step])),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((value, column) => value.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The problems (✗) and warnings (!) under the table, one per line, each naming its storage. */
export function formatFindings(reports: readonly StorageReport[]): string[] {
  return reports.flatMap((report) =>
    STEPS.flatMap((step) => {
      const { status, problem } = report.steps[step];
      if (!problem || (status !== 'fail' && status !== 'warn')) return [];
      return [`${status === 'fail' ? '✗' : '!'} ${report.storage}: ${problem}`];
    }),
  );
}

export const hasFailures = (reports: readonly StorageReport[]): boolean =>
  reports.some((report) => STEPS.some((step) => report.steps[step].status === 'fail'));

export const hasWarnings = (reports: readonly StorageReport[]): boolean =>
  reports.some((report) => STEPS.some((step) => report.steps[step].status === 'warn'));
