import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

/**
 * Logging: Fastify's pino with request ids on every line. Secrets never reach a log line: auth
 * headers and cookies are censored, and query parameters that make a URL a bearer token (presigned
 * S3 signatures, Stowage link signatures) are masked wherever a URL is logged.
 */

const secretParams =
  /([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token)=)[^&#]*/gi;

export const redactUrl = (url: string): string => url.replace(secretParams, '$1[REDACTED]');

const requestIdPattern = /^[\w.:-]{1,128}$/;

/** Reuses a well-formed incoming X-Request-Id (so ids follow a request across services), else a new one. */
export function requestId(raw: IncomingMessage): string {
  const incoming = raw.headers['x-request-id'];
  return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID();
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
        '*.credentials',
        '*.secretAccessKey',
        '*.signingSecret',
      ],
      censor: '[REDACTED]',
    },
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
