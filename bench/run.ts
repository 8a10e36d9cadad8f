/**
 * Stowage against direct S3, in the same run, on the same S3 server:
 *
 *   npm run bench                       # every scenario
 *   node bench/run.ts upload small      # some of them
 *   node bench/run.ts --quick           # small sizes and short runs: checks the harness, not Stowage
 *   node bench/run.ts --rounds 5        # A/B rounds per measurement (default 3)
 *   node bench/run.ts --pinned          # Stowage on CPU 1, S3 server and bench process on CPU 0
 *   node bench/run.ts --s3-apart        # S3 server on CPU 0, bench process and Stowage on CPU 1
 *
 * Scenarios: upload, memory, concurrency, small, download, presign, overhead, tus, direct (bench/scenarios/). Each starts its own Stowage
 * child on a fresh bucket and removes the bucket afterwards. The report (Markdown) goes to stdout and
 * to bench/results/<time>.md; progress goes to stderr. STOWAGE_BENCH_NODE_ARGS passes flags to the
 * Stowage child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { BenchContext, BenchOptions } from './lib/context.ts';
import { describeEnvironment, loadAverage } from './lib/environment.ts';
import { layoutLabel, pinLayout } from './lib/pinning.ts';
import { s3ServerPids } from './lib/proc.ts';
import { renderTable, type Table } from './lib/report.ts';
import { openS3 } from './lib/s3.ts';
import { concurrencyScenario } from './scenarios/concurrency.ts';
import { directScenario } from './scenarios/direct.ts';
import { downloadScenario } from './scenarios/download.ts';
import { memoryScenario } from './scenarios/memory.ts';
import { overheadScenario } from './scenarios/overhead.ts';
import { presignScenario } from './scenarios/presign.ts';
import { smallScenario } from './scenarios/small.ts';
import { tusScenario } from './scenarios/tus.ts';
import { uploadScenario } from './scenarios/upload.ts';

const scenarios: Record<string, (context: BenchContext) => Promise<Table[]>> = {
  upload: uploadScenario,
  memory: memoryScenario,
  concurrency: concurrencyScenario,
  small: smallScenario,
  download: downloadScenario,
  presign: presignScenario,
  overhead: overheadScenario,
  tus: tusScenario,
  direct: directScenario,
};

function parseArgs(argv: string[]): { names: string[]; options: BenchOptions } {
  const names: string[] = [];
  const options: BenchOptions = { rounds: 3, quick: false, layout: 'shared' };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--pinned') options.layout = 'pinned';
    else if (arg === '--s3-apart') options.layout = 's3-apart';
    else if (arg === '--rounds') options.rounds = Math.max(1, Number(argv[++index]));
    else if (arg in scenarios) names.push(arg);
    else throw new Error(`unknown argument "${arg}"; scenarios: ${Object.keys(scenarios).join(', ')}`);
  }
  return { names: names.length > 0 ? names : Object.keys(scenarios), options };
}

async function main() {
  const { names, options } = parseArgs(process.argv.slice(2));
  const s3 = await openS3();
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const started = new Date();
  const unpin = pinLayout(options.layout, s3ServerPids());
  const sections = [
    `## Run of ${started.toISOString()}: ${names.join(', ')}${options.quick ? ' (quick)' : ''}` +
      (options.layout === 'shared' ? '' : ` (${layoutLabel[options.layout]})`),
    '',
    ...describeEnvironment(s3),
    '',
  ];
  try {
    for (const name of names) {
      log(`${name}…`);
      for (const table of await scenarios[name]!({ s3, options, log })) {
        const text = renderTable(table);
        sections.push(text);
        process.stdout.write(`${text}\n`);
      }
    }
  } finally {
    sections.push(`Load average at the end: ${loadAverage()}.`);
    unpin();
    await s3.close();
  }
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${started.toISOString().replace(/[:.]/g, '-')}.md`, dir);
  writeFileSync(file, `${sections.join('\n')}\n`);
  log(`report: ${file.pathname}`);
}

await main();
