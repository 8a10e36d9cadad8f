/**
 * Summarises a V8 CPU profile of the Stowage child (run a scenario with
 * STOWAGE_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"): self time by package and by function.
 *
 *   node bench/profile.ts /tmp/prof/CPU.….cpuprofile [rows, default 25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile.ts <file.cpuprofile> [rows]');
const rows = Number(rowsArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMs = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
});

/** "fastify", "@aws-sdk/client-s3", "src/storage/…", "node:internal/…", or "(program)" etc. */
function owner(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const source =
    /\/work\/[^/]+\/((?:src|bench|test)\/.*)$/.exec(url) ?? /((?:src|bench|test)\/.*)$/.exec(url);
  if (source) return source[1]!;
  return url.replace(/^file:\/\//, '');
}

const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const total = [...selfMs.values()].reduce((sum, ms) => sum + ms, 0);

/** Time under each package/file anywhere on the stack (a sample counts once per package). */
function inclusive(): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url) seen.add(owner(frame.url, frame.functionName));
    }
    for (const name of seen) sums.set(name, (sums.get(name) ?? 0) + ms);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).slice(0, rows);
}
const tally = (key: (node: ProfileNode) => string) => {
  const sums = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (node) sums.set(key(node), (sums.get(key(node)) ?? 0) + ms);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).slice(0, rows);
};
const print = (title: string, list: Array<[string, number]>) => {
  console.log(`\n${title}`);
  for (const [name, ms] of list)
    console.log(`${((ms / total) * 100).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
};
console.log(`${file}: ${(total / 1000).toFixed(1)} s sampled`);
print('total time by package / file (self + callees)', inclusive());
print(
  'self time by package / file',
  tally((node) => owner(node.callFrame.url, node.callFrame.functionName)),
);
print(
  'self time by function',
  tally(
    (node) =>
      `${node.callFrame.functionName || '(anonymous)'}  ${owner(node.callFrame.url, node.callFrame.functionName)}:${node.callFrame.lineNumber + 1}`,
  ),
);
