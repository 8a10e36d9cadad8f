import { gzipSync } from 'node:zlib';
import { png } from '../../support/payloads.ts';
import {
  bearer,
  type Case,
  type Expectation,
  error,
  objectsPath,
  protocol,
  send,
  type Target,
} from '../case.ts';
import { head } from '../wire.ts';

/**
 * Everything else a route takes from the client: service-signed link parameters, storage names,
 * bodies on methods that take none, Expect, Content-Encoding.
 */
export function routeCases(target: Target): Case[] {
  const cases: Case[] = [];
  const add = (name: string, request: Case['request'], expect: Expectation) =>
    cases.push({ family: 'routes', name, request, expect });
  const [s3, local] = target.storages;
  const auth = bearer(target.writerKey);

  // ---- service-signed links (the local driver's presigned URLs), for an object that exists
  const link = (query: string) => `/v1/links/${local}/${target.seedKey}?${query}`;
  const forbidden = error('FORBIDDEN');
  add('link without a signature', send('GET', link('expires=9999999999')), forbidden);
  add('link without an expiry', send('GET', link('signature=abc')), forbidden);
  add('link with a forged signature', send('GET', link('expires=9999999999&signature=AAAA')), forbidden);
  add('link with an empty signature', send('GET', link('expires=9999999999&signature=')), forbidden);
  add(
    'link with a 4 KiB signature',
    send('GET', link(`expires=9999999999&signature=${'A'.repeat(4096)}`)),
    forbidden,
  );
  add('link expiry 1e400', send('GET', link('expires=1e400&signature=AAAA')), forbidden);
  add('link expiry -1', send('GET', link('expires=-1&signature=AAAA')), forbidden);
  add('link expiry past 2^53', send('GET', link('expires=99999999999999999999&signature=AAAA')), forbidden);
  add('link expiry in the past', send('GET', link('expires=1&signature=AAAA')), forbidden);
  // A repeated parameter is an array, which the route's query schema refuses before the link is read.
  const twice = error('VALIDATION_FAILED', 'FORBIDDEN');
  add('link with the expiry twice', send('GET', link('expires=1&expires=9999999999&signature=AAAA')), twice);
  add(
    'link with the signature twice',
    send('GET', link('expires=9999999999&signature=A&signature=B')),
    twice,
  );
  add(
    'link with a CRLF disposition',
    send('GET', link('expires=9999999999&disposition=attachment%0d%0aSet-Cookie:%20a=b&signature=AAAA')),
    forbidden,
  );
  // Storages the link routes do not serve answer as a bad link or a missing key (no name probing).
  add(
    'link to the S3 storage (served by S3 itself)',
    send('GET', `/v1/links/${s3}/${target.seedKey}?expires=9999999999&signature=AAAA`),
    forbidden,
  );
  add(
    'link to a storage that does not exist',
    send('GET', `/v1/links/ghost/${target.seedKey}?expires=9999999999&signature=AAAA`),
    forbidden,
  );
  add(
    'public read of the private S3 storage',
    send('GET', `/v1/public/${s3}/${target.seedKey}`),
    error('OBJECT_NOT_FOUND'),
  );
  add(
    'public read of a missing object',
    send('GET', `/v1/public/${local}/missing.png`),
    error('OBJECT_NOT_FOUND'),
  );

  // ---- storage names
  const storageNamed = (name: string) => send('GET', `${objectsPath(name)}`, auth);
  add('storage name of 65 characters', storageNamed('s'.repeat(65)), error('VALIDATION_FAILED'));
  add('storage name in capitals', storageNamed(s3.toUpperCase()), error('FORBIDDEN'));
  add('storage name with an encoded NUL', storageNamed(`${s3}%00`), error('FORBIDDEN'));
  add('storage name "*" (the grant wildcard)', storageNamed('*'), error('FORBIDDEN'));
  add('storage name "__proto__"', storageNamed('__proto__'), error('FORBIDDEN'));
  add('storage name "constructor"', storageNamed('constructor'), error('FORBIDDEN'));
  add(
    'empty storage name',
    send('GET', '/v1/storages//objects', auth),
    error('NOT_FOUND', 'VALIDATION_FAILED'),
  );

  // ---- bodies where none belongs, Expect, Content-Encoding; writes onto the seed (overwrite off)
  for (const storage of target.storages) {
    const seed = `${objectsPath(storage)}/${target.seedKey}`;
    const pngHeaders = [...auth, ['Content-Type', 'image/png']] as const;
    add(
      `${storage}: PUT onto the seed (overwrite off)`,
      send('PUT', seed, pngHeaders, png(1024)),
      error('OBJECT_EXISTS'),
    );
    add(
      `${storage}: PUT onto the seed, its "/" percent-encoded`,
      send('PUT', seed.replace(/\/([^/]*)$/, '%2f$1'), pngHeaders, png(1024)),
      error('OBJECT_EXISTS'),
    );
    add(
      `${storage}: PUT onto the seed, chunked`,
      {
        parts: [
          head(`PUT ${seed} HTTP/1.1`, [...pngHeaders, ['Transfer-Encoding', 'chunked']]),
          Buffer.concat([Buffer.from('400\r\n'), png(1024), Buffer.from('\r\n0\r\n\r\n')]),
        ],
      },
      error('OBJECT_EXISTS'),
    );
    add(
      `${storage}: PUT onto the seed, over the size limit`,
      send('PUT', seed, pngHeaders, png(target.maxFileSize + 1)),
      error('PAYLOAD_TOO_LARGE', 'OBJECT_EXISTS'),
    );
    add(
      `${storage}: DELETE of the seed with a broken JSON body`,
      send('DELETE', seed, [...auth, ['Content-Type', 'application/json']], Buffer.from('{"a":')),
      error('BAD_REQUEST'),
    );
    add(
      `${storage}: DELETE of the seed with an empty JSON body`,
      send('DELETE', seed, [...auth, ['Content-Type', 'application/json']], Buffer.alloc(0)),
      error('BAD_REQUEST'),
    );
    add(
      `${storage}: GET of a missing object with a 100 KiB body`,
      send(
        'GET',
        `${objectsPath(storage)}/missing.png`,
        [...auth, ['Content-Type', 'text/plain']],
        Buffer.alloc(100 * 1024, 'b'),
      ),
      error('PAYLOAD_TOO_LARGE', 'OBJECT_NOT_FOUND'),
    );
    const oversize = head(`PUT ${objectsPath(storage)}/expect.png HTTP/1.1`, [
      ...auth,
      ['Content-Type', 'image/png'],
      ['Content-Length', String(target.maxFileSize * 4)],
      ['Expect', '100-continue'],
    ]);
    // Node answers 100 Continue itself; the body never comes, the refusal must come anyway.
    add(
      `${storage}: Expect 100-continue, over the size limit, no body`,
      { parts: [oversize] },
      error('PAYLOAD_TOO_LARGE'),
    );
    add(
      `${storage}: an Expect Node does not know`,
      send(
        'PUT',
        `${objectsPath(storage)}/expect.png`,
        [...auth, ['Content-Type', 'image/png'], ['Expect', 'x-fuzz']],
        png(512),
      ),
      protocol(),
    );
    add(
      `${storage}: PUT of a gzip-encoded PNG (stored as sent, so sniffed as gzip)`,
      send(
        'PUT',
        `${objectsPath(storage)}/encoded.png`,
        [...auth, ['Content-Type', 'image/png'], ['Content-Encoding', 'gzip']],
        gzipSync(png(2048)),
      ),
      error('UNSUPPORTED_MEDIA_TYPE', 'CONTENT_TYPE_MISMATCH'),
    );
  }
  return cases;
}
