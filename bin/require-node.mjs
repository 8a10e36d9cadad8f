/**
 * The Node.js check every entry point runs before any TypeScript is loaded. Stowage runs its .ts
 * sources with Node's built-in type stripping, on by default from Node 22.18 (and in 23.6+); an older
 * Node fails on the first `.ts` import, or, given `--experimental-strip-types`, before any code runs
 * ("node: bad option" on Node 20). Plain JavaScript, so it parses on any Node that can say so.
 * Keep MINIMUM in step with package.json `engines` and the README's "Needs Node.js" line (a test
 * checks all three).
 */
export const MINIMUM = '22.18.0';

const [needMajor = 0, needMinor = 0] = MINIMUM.split('.').map(Number);
/** The first minor of each line with type stripping unflagged: MINIMUM's, and 23.6 on the short-lived 23. */
const UNFLAGGED = { [needMajor]: needMinor, 23: 6 };

/** Undefined when `version` ("22.18.0", "v24.1.0") is new enough; else the one line to print. */
export function nodeVersionProblem(version) {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const fromMinor = UNFLAGGED[major];
  if (major > 23 || (fromMinor !== undefined && minor >= fromMinor)) return undefined;
  return (
    `stowage needs Node.js ${needMajor}.${needMinor} or later (24 LTS recommended); this is Node.js ${version}. ` +
    'Install it from https://nodejs.org/ or with a version manager (e.g. nvm install 24).'
  );
}

/** Prints the problem and exits 1 on a Node too old to run Stowage. */
export function requireNode() {
  const problem = nodeVersionProblem(process.versions.node);
  if (problem === undefined) return;
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
