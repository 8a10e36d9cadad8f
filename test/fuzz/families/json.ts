import { URLS_BODY_LIMIT } from '../../../src/http/routes/urls.ts';
import { bearer, type Case, type Expectation, error, type Headers, send, type Target } from '../case.ts';
import { head } from '../wire.ts';

/**
 * The URL route's JSON body: oversized, invalid, of the wrong shape or type, prototype pollution,
 * hostile keys inside it, and the wrong content types. None names an object that exists with a valid
 * request, so every one is refused.
 */
export function jsonCases(target: Target): Case[] {
  const cases: Case[] = [];
  for (const storage of target.storages) {
    const path = `/v1/storages/${storage}/urls`;
    const post = (name: string, body: Buffer | string, expect: Expectation, type = 'application/json') => {
      const headers: Headers = [...bearer(target.writerKey), ['Content-Type', type]];
      cases.push({
        family: 'json',
        name: `${storage}: ${name}`,
        request: send('POST', path, headers, Buffer.isBuffer(body) ? body : Buffer.from(body)),
        expect,
      });
    };
    const seed = target.seedKey;
    post(
      'JSON 1 KiB over the route limit (2 MiB: 1000 keys)',
      JSON.stringify({ key: seed, filename: 'f'.repeat(URLS_BODY_LIMIT + 1024) }),
      error('PAYLOAD_TOO_LARGE'),
    );
    post(
      '4 MiB of JSON',
      JSON.stringify({ key: seed, pad: 'p'.repeat(4 * 2 ** 20) }),
      error('PAYLOAD_TOO_LARGE'),
    );
    post('truncated JSON', '{"key":', error('BAD_REQUEST'));
    post('empty body', '', error('BAD_REQUEST'));
    post('not JSON at all', 'key=seed', error('BAD_REQUEST'));
    post('JSON null', 'null', error('VALIDATION_FAILED', 'BAD_REQUEST'));
    post('JSON array', `[${JSON.stringify({ key: seed })}]`, error('VALIDATION_FAILED'));
    post('JSON string', '"seed"', error('VALIDATION_FAILED'));
    post('__proto__ pollution', `{"key":"${seed}","__proto__":{"isAdmin":true}}`, error('BAD_REQUEST'));
    post(
      'constructor.prototype pollution',
      `{"key":"${seed}","constructor":{"prototype":{"isAdmin":true}}}`,
      error('BAD_REQUEST'),
    );
    post(
      '8000 levels of nesting',
      `${'['.repeat(8000)}${']'.repeat(8000)}`,
      error('VALIDATION_FAILED', 'BAD_REQUEST'),
    );
    // Parsed (the BOM is skipped), so it names a key that does not exist: 404 proves it was read.
    post(
      'a byte-order mark before the JSON',
      `\ufeff${JSON.stringify({ key: 'missing.png' })}`,
      error('OBJECT_NOT_FOUND'),
    );
    post(
      'invalid UTF-8 in a string',
      Buffer.concat([Buffer.from('{"key":"'), Buffer.from([0xff, 0xfe, 0xc0, 0xae]), Buffer.from('"}')]),
      error('OBJECT_NOT_FOUND', 'INVALID_KEY'),
    );
    post('key with ../', JSON.stringify({ key: `../${seed}` }), error('INVALID_KEY'));
    post('key with NUL', JSON.stringify({ key: `${seed}\0` }), error('INVALID_KEY'));
    post('key with a lone surrogate escape', '{"key":"a\\ud800b"}', error('INVALID_KEY'));
    post('key of 2000 characters', JSON.stringify({ key: 'k'.repeat(2000) }), error('VALIDATION_FAILED'));
    post('key is a number', '{"key":42}', error('VALIDATION_FAILED'));
    post(
      'duplicate key member, the last one hostile',
      `{"key":"${seed}","key":"../${seed}"}`,
      error('INVALID_KEY'),
    );
    post('negative expiresIn', JSON.stringify({ key: seed, expiresIn: -1 }), error('VALIDATION_FAILED'));
    post('fractional expiresIn', JSON.stringify({ key: seed, expiresIn: 1.5 }), error('VALIDATION_FAILED'));
    post('expiresIn 1e400 (Infinity)', `{"key":"${seed}","expiresIn":1e400}`, error('VALIDATION_FAILED'));
    post('expiresIn as a string', JSON.stringify({ key: seed, expiresIn: '60' }), error('VALIDATION_FAILED'));
    post(
      'filename of 300 characters',
      JSON.stringify({ key: seed, filename: 'f'.repeat(300) }),
      error('VALIDATION_FAILED'),
    );
    post(
      'valid shape, object does not exist',
      JSON.stringify({ key: 'no/such/object.png', filename: 'a\r\nb' }),
      error('OBJECT_NOT_FOUND'),
    );
    // Fastify parses text/plain as a string, which the body schema refuses.
    post(
      'text/plain body',
      JSON.stringify({ key: seed }),
      error('UNSUPPORTED_MEDIA_TYPE', 'VALIDATION_FAILED'),
      'text/plain',
    );
    post(
      'form-urlencoded body',
      `key=${seed}`,
      error('UNSUPPORTED_MEDIA_TYPE'),
      'application/x-www-form-urlencoded',
    );
    post(
      'JSON in UTF-16',
      Buffer.from(JSON.stringify({ key: seed }), 'utf16le'),
      error('BAD_REQUEST', 'UNSUPPORTED_MEDIA_TYPE'),
      'application/json; charset=utf-16',
    );
    post(
      'multipart body',
      '--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nx\r\n--b--\r\n',
      error('VALIDATION_FAILED', 'UNSUPPORTED_MEDIA_TYPE'),
      'multipart/form-data; boundary=b',
    );
    post(
      'content type with 2 KiB of parameters (read as JSON)',
      JSON.stringify({ key: 'missing.png' }),
      error('OBJECT_NOT_FOUND'),
      `application/json; ${'p=v; '.repeat(400)}`,
    );
  }
  // Announced far over the limit: refused on the Content-Length alone, before the body arrives.
  cases.push({
    family: 'json',
    name: 'Content-Length of 10 GB, a few bytes sent',
    request: {
      parts: [
        head(`POST /v1/storages/${target.storages[0]}/urls HTTP/1.1`, [
          ...bearer(target.writerKey),
          ['Content-Type', 'application/json'],
          ['Content-Length', String(10 ** 10)],
        ]),
        Buffer.from('{"key":'),
      ],
    },
    expect: error('PAYLOAD_TOO_LARGE'),
  });
  return cases;
}
