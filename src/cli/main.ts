import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generateApiKey, hashApiKey } from '../auth/api-keys.ts';
import { embeddedDefaultConfig } from '../config/defaults.ts';
import { ConfigError, loadConfigFile, parseConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { bucketCors, bucketLifecycle, bucketPolicy, publicStoragesByBucket } from './bucket-settings.ts';
import { checkStorages } from './check.ts';
import { formatFindings, formatTable, hasFailures, hasWarnings } from './check-report.ts';
import { updateReadme } from './docs.ts';
import { collectGarbage } from './gc.ts';
import { iamPolicy } from './iam-policy.ts';
import { renderOpenApi } from './openapi.ts';
import { s3Storages } from './permissions.ts';
import { formatConfig } from './show-config.ts';

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

/** 0: all good; 1: the check found a problem (or the config is invalid); 2: the command line is wrong. */
export type ExitCode = 0 | 1 | 2;

export const USAGE = `Usage: stowage <command> [options]

Commands:
  check       For every storage: the bucket exists; the configured credentials can put, read, list
              and delete (a probe object, removed afterwards) and abort multipart uploads; lifecycle
              rules abort incomplete multipart uploads and expire resumable-upload state and staged
              direct uploads, no sooner than their expiries (see bucket-lifecycle); the bucket's
              CORS rules let auth.cors.origins in (see bucket-cors); a public storage's probe can be read
              anonymously at its public URL. Prints a table; exits 1 on a problem, naming the
              missing permission (or bucket policy) and the ARN.
                --storage NAME   only this storage (repeatable)
                --strict         warnings (e.g. a missing lifecycle rule) fail too
                --json           the findings as JSON
  iam-policy  The minimal IAM policy (JSON) for the configured S3 storages.
                --service-only   without s3:GetLifecycleConfiguration, which only \`check\` needs
  bucket-policy
              The bucket policy (JSON) a public storage's bucket needs so its public URLs can be read
              anonymously: s3:GetObject on the storage's prefix, for everyone.
                --storage NAME   only these storages (repeatable); needed when public storages
                                 are on several buckets, one policy per bucket
  bucket-lifecycle
              The lifecycle rules (JSON) every bucket of an S3 storage needs: abort incomplete
              multipart uploads, expire resumable-upload state (tails, leases) under
              .stowage-resumable/, both no sooner than resumable.expiry, and expire direct uploads
              staged under .stowage-direct/ and never finalized, no sooner than direct.expiry;
              the same for every bucket.
  gc          For every S3 storage (or --storage NAME): aborts the multipart uploads and removes the
              state (reservation, tails, lease) of resumable uploads whose expiry passed, and of
              writes whose writer died, and direct uploads staged under .stowage-direct/ and never
              finalized, once past direct.expiry; prints each thing it removed. For servers
              without lifecycle rules, or to clean up now.
                --storage NAME   only this storage (repeatable)
                --dry-run        print what would be removed, remove nothing
  bucket-cors The bucket CORS rules (JSON) for browsers reading presigned or public URLs (and PUT
              for direct uploads), from auth.cors.origins; the same rules for every bucket.
  config      Validates the config and prints it resolved (defaults applied), secrets masked.
                --json           JSON instead of YAML
  hash-key    Makes a new API key and prints it with the "sha256:…" hash for auth.apiKeys.
  openapi     Prints the OpenAPI document the routes declare.
                --json           JSON instead of YAML
                --out FILE       write it to FILE instead
  docs        Rewrites the README's generated parts (the error table, the configuration reference)
              from the error catalogue and the config schema.
                --out FILE       the README to rewrite (default: README.md)

Options:
  --config FILE   the config file (default: $STOWAGE_CONFIG, else the embedded local-disk default)
  --help          this text
`;

async function loadConfig(path: string | undefined, io: CliIo): Promise<Config> {
  const file = path ?? io.env.STOWAGE_CONFIG;
  if (file) return loadConfigFile(file, io.env);
  io.stderr('no --config and no STOWAGE_CONFIG: using the embedded default (local disk under ./data)\n');
  return parseConfig(embeddedDefaultConfig, io.env, 'embedded default');
}

export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help || command === undefined) {
    (values.help ? io.stdout : io.stderr)(USAGE);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) {
    io.stderr(`unexpected argument "${extra[0]}"\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (command) {
      case 'check':
        return await check(await loadConfig(values.config, io), values, io);
      case 'iam-policy':
        return iamPolicyCommand(await loadConfig(values.config, io), values, io);
      case 'bucket-policy':
        return bucketPolicyCommand(await loadConfig(values.config, io), values, io);
      case 'bucket-lifecycle':
        return bucketLifecycleCommand(await loadConfig(values.config, io), io);
      case 'gc':
        return await gcCommand(await loadConfig(values.config, io), values, io);
      case 'bucket-cors':
        return bucketCorsCommand(await loadConfig(values.config, io), io);
      case 'config': {
        const config = await loadConfig(values.config, io);
        io.stdout(formatConfig(config, values.json ? 'json' : 'yaml'));
        io.stderr('config is valid\n');
        return 0;
      }
      case 'hash-key': {
        const key = generateApiKey();
        io.stdout(`key:  ${key}\nhash: sha256:${hashApiKey(key)}\n`);
        io.stderr('Give the key to the service; put only the hash in auth.apiKeys[].hash.\n');
        return 0;
      }
      case 'openapi': {
        const document = await renderOpenApi(values.json ? 'json' : 'yaml');
        if (values.out) await writeFile(values.out, document);
        else io.stdout(document);
        return 0;
      }
      case 'docs': {
        const file = values.out ?? 'README.md';
        await writeFile(file, updateReadme(await readFile(file, 'utf8')));
        io.stderr(`${file}: generated sections updated\n`);
        return 0;
      }
      default:
        io.stderr(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return 1;
    }
    io.stderr(`stowage ${command}: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      storage: { type: 'string', multiple: true },
      strict: { type: 'boolean' },
      json: { type: 'boolean' },
      'service-only': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Options = ReturnType<typeof parse>['values'];

async function check(config: Config, options: Options, io: CliIo): Promise<ExitCode> {
  const reports = await checkStorages(config, options.storage ?? []);
  const failed = hasFailures(reports) || (options.strict === true && hasWarnings(reports));
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: !failed, storages: reports }, null, 2)}\n`);
  } else {
    const findings = formatFindings(reports);
    io.stdout(`${formatTable(reports)}\n${findings.length > 0 ? `\n${findings.join('\n')}\n` : ''}`);
    io.stderr(failed ? 'check failed\n' : 'check passed\n');
  }
  return failed ? 1 : 0;
}

function iamPolicyCommand(config: Config, options: Options, io: CliIo): ExitCode {
  const policy = iamPolicy(config, { forCheck: options['service-only'] !== true });
  if (policy.Statement.length === 0) {
    io.stderr('no S3 storage in this config: there is no IAM policy to print\n');
    return 1;
  }
  io.stdout(`${JSON.stringify(policy, null, 2)}\n`);
  return 0;
}

function bucketPolicyCommand(config: Config, options: Options, io: CliIo): ExitCode {
  const byBucket = publicStoragesByBucket(config, options.storage ?? []);
  const [first, ...others] = [...byBucket];
  if (first === undefined) {
    io.stderr('no public S3 storage selected: no bucket needs a public-read policy\n');
    return 1;
  }
  if (others.length > 0) {
    const buckets = [...byBucket.keys()].join(', ');
    io.stderr(`public storages on several buckets (${buckets}): pick one bucket's with --storage NAME\n`);
    return 2;
  }
  const [bucket, storages] = first;
  io.stdout(`${JSON.stringify(bucketPolicy(storages), null, 2)}\n`);
  io.stderr(
    `for bucket ${bucket}: aws s3api put-bucket-policy --bucket ${bucket} --policy file://policy.json ` +
      '(on AWS, Block Public Access must allow public bucket policies)\n',
  );
  return 0;
}

function bucketCorsCommand(config: Config, io: CliIo): ExitCode {
  const cors = config.auth.cors;
  const buckets = [...new Set(s3Storages(config).map((storage) => storage.profile.bucket))];
  if (buckets.length === 0) {
    io.stderr('no S3 storage in this config: there are no bucket CORS rules to print\n');
    return 1;
  }
  if (cors === undefined) {
    io.stderr(
      'auth.cors.origins is not set: no browser origin to allow (set it to the origins of your web apps)\n',
    );
    return 1;
  }
  io.stdout(`${JSON.stringify(bucketCors(cors.origins, cors.maxAge), null, 2)}\n`);
  io.stderr(
    `for each of ${buckets.join(', ')}: aws s3api put-bucket-cors --bucket <bucket> --cors-configuration file://cors.json\n`,
  );
  return 0;
}

function bucketLifecycleCommand(config: Config, io: CliIo): ExitCode {
  const buckets = [...new Set(s3Storages(config).map((storage) => storage.profile.bucket))];
  if (buckets.length === 0) {
    io.stderr('no S3 storage in this config: there are no bucket lifecycle rules to print\n');
    return 1;
  }
  io.stdout(
    `${JSON.stringify(bucketLifecycle({ resumable: config.resumable.expiry, direct: config.direct.expiry }), null, 2)}\n`,
  );
  io.stderr(
    `for each of ${buckets.join(', ')}: aws s3api put-bucket-lifecycle-configuration --bucket <bucket> ` +
      '--lifecycle-configuration file://lifecycle.json (it replaces the rules the bucket had)\n',
  );
  return 0;
}

async function gcCommand(config: Config, options: Options, io: CliIo): Promise<ExitCode> {
  const dryRun = options['dry-run'] === true;
  const { removed, failures } = await collectGarbage(config, {
    only: options.storage ?? [],
    dryRun,
    report: (line) => io.stdout(`${line}\n`),
  });
  io.stderr(
    `${dryRun ? 'would remove' : 'removed'} ${removed} item${removed === 1 ? '' : 's'}` +
      `${failures > 0 ? `; ${failures} could not be removed (see above)` : ''}\n`,
  );
  return failures > 0 ? 1 : 0;
}
