import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type LoggerOptions, pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { loggerOptions, redactNestedSecrets, redactUrl } from '../../src/logger.ts';
import { Meter } from '../../src/storage/meter.ts';
import { peek } from '../../src/storage/peek.ts';

const collect = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const chunked = (data: Buffer, size: number) => {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) parts.push(data.subarray(offset, offset + size));
  return Readable.from(parts);
};

describe('peek', () => {
  it('returns the head and a body that still yields every byte', async () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, index) => index % 251));
    const { head, body } = await peek(chunked(data, 1000), 4100);
    expect(head.length).toBeGreaterThanOrEqual(4100);
    expect(head.equals(data.subarray(0, head.length))).toBe(true);
    expect((await collect(body)).equals(data)).toBe(true);
  });

  it('handles streams shorter than the window, and empty ones', async () => {
    const short = await peek(Readable.from([Buffer.from('hello')]), 4100);
    expect(short.head.toString()).toBe('hello');
    expect((await collect(short.body)).toString()).toBe('hello');
    const empty = await peek(Readable.from([]), 4100);
    expect(empty.head.length).toBe(0);
    expect((await collect(empty.body)).length).toBe(0);
  });

  it('rejects when the stream fails before the window is read', async () => {
    const failing = new Readable({ read() {} });
    const result = peek(failing, 4100);
    failing.push(Buffer.from('abc'));
    failing.destroy(new Error('client went away'));
    await expect(result).rejects.toThrow('client went away');
  });
});

describe('meter', () => {
  it('counts and hashes what passes', async () => {
    const data = Buffer.alloc(300_000, 7);
    const meter = new Meter(300_000);
    const [, out] = await Promise.all([pipeline(chunked(data, 65_536), meter), collect(meter)]);
    expect(out.length).toBe(300_000);
    expect(meter.bytes).toBe(300_000);
    expect(meter.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('fails the stream (never truncates) one byte past the limit', async () => {
    const meter = new Meter(1000);
    const run = Promise.all([pipeline(chunked(Buffer.alloc(1001), 100), meter), collect(meter)]);
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('log redaction', () => {
  it('masks presigned and link signatures, keeps the rest', () => {
    const url =
      '/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F20261125&X-Amz-Signature=abc123&expires=5&signature=zzz';
    const redacted = redactUrl(url);
    expect(redacted).not.toMatch(/abc123|AKIA|zzz/);
    expect(redacted).toContain('X-Amz-Algorithm=AWS4');
    expect(redacted).toContain('expires=5');
  });

  it('masks secret names the query parser decodes (%73ignature, X-Amz-%53ignature, +), whatever the case', () => {
    const url =
      '/v1/links/p/k?expires=5&%73ignature=s1&X-Amz-%53ignature=s2&SIG%6eATURE=s3&%74oken+=s4&x=%ZZ';
    const redacted = redactUrl(url);
    expect(redacted).not.toMatch(/s1|s2|s3/);
    expect(redacted).toBe(
      '/v1/links/p/k?expires=5&%73ignature=[REDACTED]&X-Amz-%53ignature=[REDACTED]&SIG%6eATURE=[REDACTED]&%74oken+=s4&x=%ZZ',
    );
  });
});

describe('log redaction of secrets in logged objects', () => {
  const logged = (object: Record<string, unknown>) => {
    const lines: string[] = [];
    const options = loggerOptions('info') as LoggerOptions;
    const logger = pino(options, { write: (line: string) => lines.push(line) });
    logger.info(object, 'a line');
    return JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  };

  it('masks credentials, secret keys and signing secrets one level down, and the top-level ones', () => {
    const connection = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' };
    const failure = Object.assign(new Error('boom'), { credentials: { token: 'tok-123' } });
    const line = logged({
      s3: connection,
      local: { signingSecret: 'sign-me-please' },
      storage: { credentials: { secretAccessKey: 'nested-secret' }, bucket: 'media' },
      err: failure,
      credentials: 'top-level',
      resumable: { secret: 'resumable-secret' },
      headers: { authorization: 'Bearer abc', accept: '*/*' },
      key: 'docs/a.pdf',
    });
    expect(JSON.stringify(line)).not.toMatch(
      /wJalrXUtnFEMI|sign-me-please|nested-secret|tok-123|top-level|resumable-secret|Bearer/,
    );
    expect(line).toMatchObject({
      s3: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: '[REDACTED]' },
      local: { signingSecret: '[REDACTED]' },
      storage: { credentials: '[REDACTED]', bucket: 'media' },
      credentials: '[REDACTED]',
      resumable: { secret: '[REDACTED]' },
      headers: { authorization: '[REDACTED]', accept: '*/*' },
      key: 'docs/a.pdf',
    });
    expect(line.err).toMatchObject({ credentials: '[REDACTED]', message: 'boom', type: 'Error' });
    expect((line.err as { stack?: string }).stack).toContain('boom');
    // The caller's objects are left as they were.
    expect(connection.secretAccessKey).toBe('wJalrXUtnFEMI');
  });

  it('a line without secrets is logged as it is', () => {
    const object = { storage: 'media', key: 'a/b.png', bytes: 10, res: { statusCode: 201 } };
    expect(redactNestedSecrets(object)).toBe(object);
    expect(logged(object)).toMatchObject({ storage: 'media', key: 'a/b.png', bytes: 10 });
  });
});
