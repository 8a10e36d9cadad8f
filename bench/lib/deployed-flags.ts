import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags a tree's image runs Stowage with: those of its Dockerfile's exec-form CMD between
 * `node` and the script (e.g. `--max-semi-space-size=2`). The benchmark starts each tree with its own,
 * so a before/after run compares what each tree ships, and a flag changed in the Dockerfile is
 * measured without a second place to edit. A tree without a readable CMD runs with none.
 */
export function deployedNodeFlags(root: string): string[] {
  let dockerfile: string;
  try {
    dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  } catch {
    return [];
  }
  const cmd = /^CMD (\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (cmd === undefined) return [];
  const argv = JSON.parse(cmd) as string[];
  const script = argv.findIndex((arg) => arg.endsWith('.ts') || arg.endsWith('.js') || arg.endsWith('.mjs'));
  return argv.slice(1, script < 0 ? undefined : script).filter((arg) => arg.startsWith('--'));
}
