import type { ErrorCode } from '../../../src/errors.ts';
import { png } from '../../support/payloads.ts';
import {
  BAD_URL,
  bearer,
  type Case,
  error,
  headError,
  objectsPath,
  protocol,
  send,
  type Target,
  tolerating,
} from '../case.ts';
import { head } from '../wire.ts';

/**
 * Hostile keys, written into the request target exactly as listed (percent-encoding and all). Each
 * says what Stowage must answer for it: INVALID_KEY for a key that decodes to something unsafe,
 * BAD_REQUEST for a path that does not decode at all (bad or overlong UTF-8 escapes), NOT_FOUND where
 * the path no longer reaches an object route. `literal`: the key is odd but safe once decoded (it is
 * stored under exactly that name, nothing is decoded twice), so the PUT carries a refused body instead.
 */
interface HostileKey {
  readonly label: string;
  readonly path: string;
  readonly codes: readonly ErrorCode[];
  readonly literal?: boolean;
  /** Node's parser refuses the request line itself (raw control bytes or spaces). */
  readonly protocol?: boolean;
  /** Valid on S3, too long a segment for a local filesystem. */
  readonly localOnly?: boolean;
}

const INVALID: readonly ErrorCode[] = ['INVALID_KEY'];
const UNDECODABLE: readonly ErrorCode[] = ['BAD_REQUEST'];

export const hostileKeys: readonly HostileKey[] = [
  { label: '../ traversal', path: '../escape.png', codes: INVALID },
  { label: 'deep ../ traversal', path: '../../../../../../tmp/escape.png', codes: INVALID },
  { label: 'traversal to the sentinel beside objects/', path: '../sentinel', codes: INVALID },
  { label: 'traversal to the sentinel in the root', path: '..%2f..%2fsentinel', codes: INVALID },
  { label: 'traversal after a segment', path: 'a/../../escape.png', codes: INVALID },
  { label: '%2e%2e/', path: '%2e%2e/escape.png', codes: INVALID },
  { label: '%2E%2E%2F (all encoded, upper case)', path: '%2E%2E%2Fescape.png', codes: INVALID },
  { label: '..%2f', path: '..%2fescape.png', codes: INVALID },
  { label: '.%2e/', path: '.%2e/escape.png', codes: INVALID },
  {
    label: 'double-encoded %252e%252e%252f (a literal name)',
    path: '%252e%252e%252fescape.png',
    codes: [],
    literal: true,
  },
  { label: 'dot segment ./', path: './a.png', codes: INVALID },
  { label: 'dot segment at the end', path: 'a/.', codes: INVALID },
  { label: 'key ".."', path: '..', codes: INVALID },
  { label: 'key "%2e"', path: '%2e', codes: INVALID },
  { label: 'backslash traversal', path: '..\\escape.png', codes: INVALID },
  { label: 'encoded backslash traversal %5c', path: '..%5c..%5cescape.png', codes: INVALID },
  { label: 'leading slash (//)', path: '/abs.png', codes: INVALID },
  { label: 'encoded leading slash %2f', path: '%2fabs.png', codes: INVALID },
  { label: 'empty segment a//b', path: 'a//b.png', codes: INVALID },
  { label: 'trailing slash', path: 'dir/', codes: INVALID },
  { label: 'encoded NUL', path: 'x%00.png', codes: INVALID },
  { label: 'only NUL', path: '%00', codes: INVALID },
  { label: 'encoded CRLF', path: 'x%0d%0aSet-Cookie:%20a=b', codes: INVALID },
  { label: 'DEL', path: 'x%7f.png', codes: INVALID },
  { label: 'C1 control NEL (c2 85)', path: 'x%c2%85.png', codes: INVALID },
  { label: 'RTL override (e2 80 ae)', path: 'invoice%e2%80%aegnp.exe', codes: INVALID },
  { label: 'not NFC (e + combining acute)', path: 'cafe%cc%81.png', codes: INVALID },
  { label: 'overlong "." (c0 ae)', path: '%c0%ae%c0%ae/escape.png', codes: UNDECODABLE },
  { label: 'overlong "/" (c0 af)', path: '..%c0%afescape.png', codes: UNDECODABLE },
  { label: 'overlong 3-byte "." (e0 80 ae)', path: '%e0%80%ae%e0%80%ae/escape.png', codes: UNDECODABLE },
  { label: 'invalid UTF-8 byte ff', path: 'x%ff.png', codes: UNDECODABLE },
  { label: 'UTF-8 encoded surrogate (ed a0 80)', path: 'x%ed%a0%80.png', codes: UNDECODABLE },
  { label: 'truncated escape %', path: 'x%.png', codes: UNDECODABLE },
  { label: 'non-hex escape %zz', path: 'x%zz.png', codes: UNDECODABLE },
  { label: 'raw byte ff in the path', path: 'x\xff.png', codes: UNDECODABLE, protocol: true },
  { label: 'raw space in the path', path: 'a b.png', codes: [], protocol: true },
  { label: 'raw TAB in the path', path: 'a\tb.png', codes: [], protocol: true },
  { label: 'a 1100-byte key (limit 1024)', path: 'k'.repeat(1100), codes: INVALID },
  {
    label: 'a 3000-byte key (past the router limit)',
    path: 'k'.repeat(3000),
    codes: ['INVALID_KEY', 'NOT_FOUND'],
  },
  { label: 'a 300-byte segment', path: `${'s'.repeat(300)}.png`, codes: INVALID, localOnly: true },
  { label: 'query and fragment only', path: '?x=1', codes: ['NOT_FOUND', 'INVALID_KEY'] },
];

/**
 * Every hostile key against PUT (with a body that would be stored), GET and DELETE, alternating
 * storages; HEAD for a few. A sentinel file next to the local storage's directory and the S3 seed
 * must survive the DELETEs, and nothing may be written anywhere by the PUTs.
 */
export function keyCases(target: Target): Case[] {
  const cases: Case[] = [];
  const auth = bearer(target.writerKey);
  for (const [index, key] of hostileKeys.entries()) {
    for (const [slot, storage] of target.storages.entries()) {
      const local = slot === 1;
      const path = `${objectsPath(storage)}/${key.path}`;
      const literal = key.literal || (key.localOnly && !local);
      const codes = literal ? (['UNSUPPORTED_MEDIA_TYPE'] as const) : key.codes;
      const expectFor = (answer: readonly ErrorCode[]) => {
        if (key.protocol) return protocol(...answer);
        return answer === UNDECODABLE ? tolerating(answer, BAD_URL) : error(...answer);
      };
      const body = literal ? Buffer.from('<html>refused</html>') : png(1024);
      const type = literal ? 'text/html' : 'image/png';
      cases.push({
        family: 'keys',
        name: `${storage}: PUT ${key.label}`,
        request: {
          parts: [
            rawRequest('PUT', path, [
              ...auth,
              ['Content-Type', type],
              ['Content-Length', String(body.length)],
            ]),
            body,
          ],
        },
        expect: expectFor(codes),
      });
      // A literal key names nothing stored: GET is 404 (a DELETE would be an idempotent 204, so none).
      const readCodes: readonly ErrorCode[] = literal ? ['OBJECT_NOT_FOUND'] : key.codes;
      const method = !literal && (index + slot) % 2 === 1 ? 'DELETE' : 'GET';
      cases.push({
        family: 'keys',
        name: `${storage}: ${method} ${key.label}`,
        request: { parts: [rawRequest(method, path, auth)] },
        expect: expectFor(readCodes),
      });
      if (index % 5 === 0 && !key.protocol) {
        cases.push({
          family: 'keys',
          name: `${storage}: HEAD ${key.label}`,
          request: { parts: [rawRequest('HEAD', path, auth)] },
          expect: headError(...readCodes),
        });
      }
    }
  }
  // The link routes take keys too: signed links (local private) and public reads.
  for (const key of hostileKeys.filter((entry) => !entry.protocol && !entry.literal).slice(0, 12)) {
    cases.push({
      family: 'keys',
      name: `link route: ${key.label}`,
      request: {
        parts: [
          rawRequest(
            'GET',
            `/v1/links/${target.storages[1]}/${key.path}?expires=9999999999&signature=AAAA`,
            [],
          ),
        ],
      },
      expect: error(...key.codes, 'FORBIDDEN'),
    });
  }
  cases.push({
    family: 'keys',
    name: 'storage name "..": traversal in the storage segment',
    request: send('PUT', `/v1/storages/../objects/x.png`, auth, png(512)),
    expect: error('FORBIDDEN', 'NOT_FOUND'),
  });
  cases.push({
    family: 'keys',
    name: 'storage name "%2e%2e%2f.." with a key',
    request: send('GET', `/v1/storages/%2e%2e%2f..%2f${target.storages[1]}/objects/${target.seedKey}`, auth),
    expect: error('FORBIDDEN', 'NOT_FOUND', 'VALIDATION_FAILED'),
  });
  return cases;
}

/** The head of a request whose target is written byte for byte (latin1: one char, one byte). */
const rawRequest = (method: string, path: string, headers: ReadonlyArray<readonly [string, string]>) =>
  head(`${method} ${path} HTTP/1.1`, headers);
