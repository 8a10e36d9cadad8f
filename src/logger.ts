import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

/**
 * Logging: Fastify's pino with request ids on every line. Secrets never reach a log line: auth
 * headers and cookies are censored, and query parameters that make a URL a bearer token (presigned
 * S3 signatures, Stowage link signatures) are masked wherever a URL is logged.
 */

const secretParams = new Set([
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'signature',
  'sig',
  'token',
  'access_token',
]);

/**
 * A query name as the router reads it: `%73ignature` and `sig%6Eature` are `signature` to Fastify's
 * query parser, so they must be to the redaction too. Secret names are ASCII, so decoding each `%XX`
 * as one character (and `+` as a space) is enough to compare, and cannot throw on malformed input.
 */
const decodedName = (name: string): string =>
  name
    .replaceAll('+', ' ')
    .replace(/%([0-9a-f]{2})/gi, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** Masks the value of every query parameter whose decoded name is a secret; the rest stays as sent. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const separator = pair.indexOf('=');
      const name = separator === -1 ? pair : pair.slice(0, separator);
      return secretParams.has(decodedName(name).toLowerCase()) ? `${name}=[REDACTED]` : pair;
    });
  return `${url.slice(0, start + 1)}${query.join('&')}`;
}

const requestIdPattern = /^[\w.:-]{1,128}$/;

/** Reuses a well-formed incoming X-Request-Id (so ids follow a request across services), else a new one. */
export function requestId(raw: IncomingMessage): string {
  const incoming = raw.headers['x-request-id'];
  return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID();
}

/** Fields that hold a secret wherever they appear one level down (a config block, an S3 connection). */
const nestedSecrets = ['credentials', 'secretAccessKey', 'signingSecret'] as const;

/**
 * The logged object with every nested secret field (one level down, as `*.credentials` would match)
 * masked; the object itself when there is none, so a line without secrets costs a few property checks.
 */
/**
 * A copy to mask fields in: an Error stays an Error (same prototype, its message and stack kept,
 * which are not enumerable and a spread would drop), so pino's err serializer still reads it.
 */
function shallowCopy(value: object): Record<string, unknown> {
  if (!(value instanceof Error)) return { ...value };
  return Object.assign(Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>, value, {
    message: value.message,
    stack: value.stack,
  });
}

export function redactNestedSecrets(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    const value = object[key];
    if (value === null || typeof value !== 'object') continue;
    for (const secret of nestedSecrets) {
      if (!Object.hasOwn(value, secret)) continue;
      copy ??= { ...object };
      const masked = copy[key] === value ? shallowCopy(value) : (copy[key] as Record<string, unknown>);
      masked[secret] = '[REDACTED]';
      copy[key] = masked;
    }
  }
  return copy ?? object;
}

export function loggerOptions(
  level: string,
  options: { pretty?: boolean } = {},
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'credentials',
        'resumable.secret',
      ],
      censor: '[REDACTED]',
    },
    // `*.credentials` and the like as redact paths did the same, but a wildcard path makes pino run
    // its redactor (a selective clone, then JSON) on every field of every line, strings included:
    // 12 µs per access line against 6 here (bench/probes/log-line.ts).
    formatters: { log: redactNestedSecrets },
    serializers: {
      req: (request: { method: string; url: string; host: string; ip: string }) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
      }),
    },
    ...(options.pretty && {
      transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    }),
  };
}
