import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Every entry point (npm start, dev, cli, demo and the `stowage` bin) checks the Node.js version before any
 * TypeScript loads: on an older Node it prints one line naming the version needed and how to get it,
 * and exits 1. Run for real under the system's older Node (/usr/bin/node and its npm, Node 20 on the
 * CI machine), where `--experimental-strip-types` used to die with "node: bad option".
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OLD_NODE = '/usr/bin/node';
const run = promisify(execFile);

type Outcome = { code: number; stdout: string; stderr: string };
const outcome = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> =>
  run(command, args, { cwd: ROOT, env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );

const versionOf = async (node: string) =>
  (await outcome(node, ['--version'])).stdout.trim().replace(/^v/, '');
const oldNode = existsSync(OLD_NODE) ? await versionOf(OLD_NODE) : undefined;
const tooOld = oldNode !== undefined && Number(oldNode.split('.')[0]) < 22;

// A variable specifier: the launcher is plain JavaScript without type declarations.
const launcher = new URL('../../bin/require-node.mjs', import.meta.url).href;
const { MINIMUM, nodeVersionProblem } = (await import(launcher)) as {
  MINIMUM: string;
  nodeVersionProblem: (version: string) => string | undefined;
};
const [major, minor] = MINIMUM.split('.');
const needed = new RegExp(
  `^stowage needs Node\\.js ${major}\\.${minor} or later .*this is Node\\.js ${oldNode}\\. .*nodejs\\.org`,
);

describe.skipIf(!tooOld)(`under an older Node.js (${OLD_NODE}, ${oldNode})`, () => {
  it.each([
    ['the server', ['bin/server.mjs']],
    ['the stowage command', ['bin/stowage.mjs', '--help']],
    ['the demo page', ['bin/demo.mjs']],
  ])('%s prints one line naming the version needed and exits 1', async (_name, args) => {
    const { code, stdout, stderr } = await outcome(OLD_NODE, args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(needed);
  });

  it.each([['start'], ['dev'], ['cli', '--', '--help'], ['demo']])(
    'npm run %s fails with that line, not "bad option"',
    async (...args) => {
      // The older Node and the npm that comes with it first on PATH, as on a machine that has only them.
      const { code, stderr } = await npmRun(args, { ...process.env, PATH: '/usr/bin:/bin' });
      expect(stderr).not.toContain('bad option');
      expect(stderr.split('\n').filter((line) => needed.test(line))).toHaveLength(1);
      // `dev` runs under --watch, which after the exit waits for a change instead of exiting.
      if (args[0] !== 'dev') expect(code).toBe(1);
    },
  );
});

/**
 * `npm run …` in a process group of its own, and its stderr: until it exits, or for `dev`, until the
 * version line has come out (then the group — npm, its shell and node — is ended).
 */
function npmRun(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('/usr/bin/npm', ['run', '--silent', ...args], { cwd: ROOT, env, detached: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (args[0] === 'dev' && stderr.split('\n').some((line) => needed.test(line)))
      process.kill(-(child.pid as number), 'SIGTERM');
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

describe('which versions are new enough', () => {
  it('22.18+, 23.6+ (type stripping unflagged) and anything from 24', () => {
    const accepted = (version: string) => nodeVersionProblem(version) === undefined;
    expect(['22.18.0', 'v22.20.1', '23.6.0', '24.0.0', '26.1.0'].filter(accepted)).toHaveLength(5);
    expect(['18.20.0', '20.20.2', '22.17.1', '23.5.0', '21.7.3'].filter(accepted)).toEqual([]);
  });
});

describe('on a Node.js that is new enough', () => {
  it('the stowage command runs', async () => {
    const { code, stdout } = await outcome(process.execPath, ['bin/stowage.mjs', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: stowage/);
  });
});

describe('the version needed is stated once', () => {
  it('package.json engines, the bin entry and the README agree with the launcher', async () => {
    const pkg = JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8')) as {
      engines: { node: string };
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.engines.node).toBe(`>=${MINIMUM.replace(/\.0$/, '')}`);
    expect(pkg.bin.stowage).toBe('./bin/stowage.mjs');
    for (const script of ['start', 'dev', 'cli', 'openapi', 'demo'])
      expect(pkg.scripts[script], script).toMatch(/ bin\/(server|stowage|demo)\.mjs\b/);
    const readme = await readFile(`${ROOT}/README.md`, 'utf8');
    expect(readme).toContain(`Needs Node.js ${major}.${minor}+`);
  });
});
