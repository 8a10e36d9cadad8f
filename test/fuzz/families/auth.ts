import { png } from '../../support/payloads.ts';
import { bearer, type Case, error, type Headers, objectsPath, send, type Target } from '../case.ts';
import { filePart, form, formType } from '../multipart.ts';

/**
 * Writes without credentials, with credentials that do not verify, and with a key that may only
 * read: every write route of both storages, each time with a body that would be stored if the
 * request were let through.
 */
export function authCases(target: Target): Case[] {
  const cases: Case[] = [];
  const badCredentials: Array<[string, Headers]> = [
    ['no credentials', []],
    ['unknown API key', bearer('stw_not_a_key_of_this_service_000000000000000')],
    ['Basic scheme', [['Authorization', 'Basic d3JpdGVyOnNlY3JldA==']]],
    ['Bearer without a token', [['Authorization', 'Bearer']]],
    ['two tokens', [['Authorization', `Bearer ${target.writerKey} extra`]]],
    ['a JWT when none is configured', bearer('eyJhbGciOiJub25lIn0.eyJzY29wZSI6IioqIn0.')],
    ['the key with a literal "\\0" appended', [['X-Api-Key', `${target.writerKey}\\0`]]],
    ['an 8 KiB bearer token', bearer(`stw_${'A'.repeat(8192)}`)],
    ['X-Api-Key of the key with one letter changed', [['X-Api-Key', `${target.writerKey.slice(0, -1)}X`]]],
  ];
  const body = form('auth-boundary', [filePart(png(1024))]);
  for (const storage of target.storages) {
    for (const [name, headers] of badCredentials) {
      cases.push({
        family: 'auth',
        name: `${storage}: upload with ${name}`,
        request: send(
          'POST',
          objectsPath(storage),
          [...headers, ['Content-Type', formType('auth-boundary')]],
          body,
        ),
        expect: error('UNAUTHORIZED'),
      });
    }
    const reader = bearer(target.readerKey);
    const writes: Array<[string, string, string, Headers, Buffer]> = [
      ['upload', 'POST', objectsPath(storage), [['Content-Type', formType('auth-boundary')]], body],
      ['raw PUT', 'PUT', `${objectsPath(storage)}/by-reader.png`, [['Content-Type', 'image/png']], png(512)],
      ['DELETE of the seed', 'DELETE', `${objectsPath(storage)}/${target.seedKey}`, [], Buffer.alloc(0)],
    ];
    for (const [name, method, path, headers, payload] of writes) {
      cases.push({
        family: 'auth',
        name: `${storage}: ${name} with a read-only key`,
        request: send(method, path, [...reader, ...headers], payload),
        expect: error('FORBIDDEN'),
      });
      cases.push({
        family: 'auth',
        name: `${storage}: ${name} without credentials`,
        request: send(method, path, headers, payload),
        expect: error('UNAUTHORIZED'),
      });
    }
  }
  // A storage the caller may not see answers like one that does not exist; one that does not exist
  // at all, for a key that may use every storage name it is granted, is 404 only with a grant.
  cases.push({
    family: 'auth',
    name: 'upload to a storage that does not exist, with the writer key',
    request: send(
      'POST',
      objectsPath('no-such-storage'),
      [...bearer(target.writerKey), ['Content-Type', formType('auth-boundary')]],
      body,
    ),
    expect: error('FORBIDDEN'),
  });
  return cases;
}
