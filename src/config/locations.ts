import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Where each storage keeps its objects: a bucket or a directory, and its key prefix there. Two
 * storages whose key spaces overlap would let a grant on one read, list, overwrite or delete the
 * other's objects — and a public storage serve a private one's to anyone (issue 12) — so the config
 * refuses them. No use of overlapping storages was found that per-storage grants cannot express.
 */

interface LocationProfile {
  driver: 's3' | 'local';
  prefix: string;
  bucket?: string;
  directory?: string | undefined;
}

/** A local storage's directory: its `directory`, or `${local.root}/${name}`, made absolute. */
export const localDirectory = (root: string, name: string, directory: string | undefined): string =>
  resolve(directory ?? join(root, name));

/** `a` is `b` or lies below it. */
const within = (a: string, b: string) => {
  const path = relative(b, a);
  return path === '' || (path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path));
};

/**
 * Why two storages share keys, or undefined when they do not. S3 storages are compared by bucket
 * name alone, whatever their endpoints: two endpoints may well reach the same server, and the safe
 * answer to "may be the same bucket" is "treat it as the same". Local directories overlap when one
 * lies within the other (the outer one's key tree would reach the inner one's files), whatever the
 * prefixes. Symbolic links between directories are not followed (paths are compared as written).
 */
export function overlap(
  root: string,
  [nameA, a]: [string, LocationProfile],
  [nameB, b]: [string, LocationProfile],
): string | undefined {
  const prefixes = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  if (a.driver === 's3' && b.driver === 's3')
    return a.bucket === b.bucket && prefixes
      ? `bucket "${a.bucket}" with prefixes "${a.prefix}" and "${b.prefix}"`
      : undefined;
  if (a.driver !== 'local' || b.driver !== 'local') return undefined;
  const dirA = localDirectory(root, nameA, a.directory);
  const dirB = localDirectory(root, nameB, b.directory);
  if (dirA === dirB)
    return prefixes ? `directory ${dirA} with prefixes "${a.prefix}" and "${b.prefix}"` : undefined;
  if (within(dirA, dirB) || within(dirB, dirA))
    return `directories ${dirA} and ${dirB} (one within the other)`;
  return undefined;
}
