import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema } from './schema.ts';

/** Thrown when the config cannot be used; `problems` lists every issue, each with its path. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`invalid config (${source}):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of the parsed document, so secrets come
 * from the environment and never sit in the file. A string that ends up empty counts as unset, which
 * lets `${AWS_ENDPOINT_URL_S3:-}` mean "the SDK default" in production.
 */
export function interpolate(value: unknown, env: Env, path: string, missing: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const result = value.replace(reference, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      missing.set(path, `${path}: environment variable ${name} is not set`);
      return '';
    });
    return result === '' ? undefined : result;
  }
  if (Array.isArray(value)) {
    // Items left unset are dropped; a list of nothing but unset items is itself unset.
    const items = value
      .map((item, index) => interpolate(item, env, `${path}.${index}`, missing))
      .filter((item) => item !== undefined);
    return value.length > 0 && items.length === 0 ? undefined : items;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const resolved = interpolate(item, env, path ? `${path}.${key}` : key, missing);
      if (resolved !== undefined) out[key] = resolved;
    }
    // A block whose every value is unset is itself unset: `credentials: { accessKeyId:
    // ${AWS_ACCESS_KEY_ID:-}, … }` with no keys in the environment means "use the provider chain".
    return entries.length > 0 && Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.map(String).join('.') || '(root)';
    return `${where}: ${issue.message}`;
  });
}

/** The listen address, log level and CORS origins may be set from the environment without touching the file. */
function applyEnvOverrides(document: Record<string, unknown>, env: Env): Record<string, unknown> {
  const server = { ...((document.server as Record<string, unknown> | undefined) ?? {}) };
  if (env.HOST) server.host = env.HOST;
  if (env.PORT) server.port = env.PORT;
  if (env.LOG_LEVEL) server.logLevel = env.LOG_LEVEL;
  const origins = env.CORS_ORIGINS?.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (!origins?.length) return { ...document, server };
  const auth = (document.auth as Record<string, unknown> | undefined) ?? {};
  const cors = { ...((auth.cors as Record<string, unknown> | undefined) ?? {}), origins };
  return { ...document, server, auth: { ...auth, cors } };
}

/** Pure: validates an already-parsed document against the schema with the given environment. */
export function parseConfig(document: unknown, env: Env, source = 'config'): Config {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['(root): expected a mapping of settings']);
  }
  const missing = new Map<string, string>();
  const interpolated = (interpolate(document, env, '', missing) ?? {}) as Record<string, unknown>;
  const result = configSchema.safeParse(applyEnvOverrides(interpolated, env));
  // A field left empty by a missing variable is reported once, naming the variable.
  const schemaProblems = result.success
    ? []
    : formatIssues(result.error).filter((problem) => !missing.has(problem.split(':', 1)[0] ?? ''));
  const problems = [...missing.values(), ...schemaProblems];
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

/** Reads a YAML or JSON file (YAML is a superset of JSON) and parses it. */
export async function loadConfigFile(path: string, env: Env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML/JSON: ${(error as Error).message}`]);
  }
  return parseConfig(document, env, path);
}
