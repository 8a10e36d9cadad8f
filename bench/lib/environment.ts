import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { beforeRoot } from './context.ts';
import type { S3Side } from './s3.ts';
import { stowageRoot } from './stowage.ts';

/** The machine and versions a run was measured on, for the report's header. */

const require = createRequire(new URL('../../package.json', import.meta.url));

/** The installed version of a package, or '?'. */
export const packageVersion = (name: string): string => {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    // Packages whose `exports` leave out package.json (@tus/*): read it where npm put it.
    try {
      const path = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
      return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  }
};

const run = (command: string, args: string[]): string => {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return '?';
  }
};

export function describeEnvironment(s3: S3Side): string[] {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const s3Version =
    s3.server.kind === 'ceph' ? run('radosgw', ['--version']).replace(/\s*\(.*$/, '') : s3.server.kind;
  const commit = run('git', ['-C', stowageRoot, 'rev-parse', '--short', 'HEAD']);
  const status = run('git', ['-C', stowageRoot, 'status', '--porcelain', '--', 'src']);
  // '?': not a git checkout (e.g. an exported tree), nothing to say.
  const dirty = status === '' || status === '?' ? '' : ' (src/ has uncommitted changes)';
  return [
    `- machine: ${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average at start ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
    `- Node.js ${process.version}; @aws-sdk/client-s3 ${packageVersion('@aws-sdk/client-s3')}, lib-storage ${packageVersion(
      '@aws-sdk/lib-storage',
    )}, s3-request-presigner ${packageVersion('@aws-sdk/s3-request-presigner')}; fastify ${packageVersion('fastify')}, @fastify/multipart ${packageVersion('@fastify/multipart')}; undici ${packageVersion('undici')} (load generator)`,
    `- S3: ${s3Version} at ${s3.server.endpoint} (${s3.server.kind})`,
    `- Stowage: ${stowageRoot} at ${commit}${dirty}`,
    ...(beforeRoot ? [`- "(before)" paths: ${beforeRoot}`] : []),
    ...(process.env.STOWAGE_BENCH_ENV
      ? [`- extra environment of the Stowage child: ${process.env.STOWAGE_BENCH_ENV}`]
      : []),
    `- admission limits: ${process.env.STOWAGE_BENCH_DEFAULT_LIMITS ? 'shipped defaults' : 'raised (uploadMemory 16GiB, uploadsPerPrincipal 1024)'}; \`concurrency\` always runs with the shipped defaults`,
  ];
}

export const loadAverage = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
