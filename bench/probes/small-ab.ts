/**
 * Runs bench/probes/small-uploads.ts for two Stowage trees in turns — this one (`after`) and
 * `--before <tree>` (e.g. `git archive <rev> | tar -x -C /tmp/before && ln -s $PWD/node_modules
 * /tmp/before/`) — each run a fresh process with its tree's own Dockerfile node flags, the order
 * swapped every round, and prints every run and the medians of Stowage's CPU ms per upload.
 *
 *   node bench/probes/small-ab.ts --before /tmp/before [--rounds 3] [--modes put,post] [--seconds 6]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { deployedNodeFlags } from '../lib/deployed-flags.ts';
import { median } from '../lib/load.ts';

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'put,post' },
    seconds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '64' },
  },
});
if (!values.before) throw new Error('usage: node bench/probes/small-ab.ts --before <tree> [--rounds n]');
const trees = { after: new URL('../../', import.meta.url).pathname, before: values.before };
const probe = new URL('small-uploads.ts', import.meta.url).pathname;
const results = new Map<string, number[]>();

for (let round = 0; round < Number(values.rounds); round++) {
  for (const mode of values.modes.split(',')) {
    const order = (round % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as Array<keyof typeof trees>;
    for (const name of order) {
      const root = trees[name];
      const output = execFileSync(
        process.execPath,
        [
          ...deployedNodeFlags(root),
          probe,
          ...['--root', root, '--mode', mode, '--seconds', values.seconds, '--warmup', values.warmup],
          ...['--concurrency', values.concurrency],
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as {
        cpuMsPerUpload: number;
        perSecond: number;
        errors: number;
      };
      if (result.errors > 0) throw new Error(`${name} ${mode}: ${output}`);
      const label = `${mode} ${name}`;
      results.set(label, [...(results.get(label) ?? []), result.cpuMsPerUpload]);
      process.stderr.write(
        `round ${round + 1} ${label}: ${result.cpuMsPerUpload.toFixed(3)} ms/upload, ${result.perSecond}/s\n`,
      );
    }
  }
}
for (const [label, list] of results) {
  console.log(
    `${label.padEnd(12)} median ${median(list).toFixed(3)} ms  (${list.map((ms) => ms.toFixed(3)).join(', ')})`,
  );
}
