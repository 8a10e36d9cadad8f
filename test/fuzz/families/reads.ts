import { bearer, type Case, error, objectsPath, send, type Target } from '../case.ts';

/** Range headers that are malformed (400 INVALID_RANGE) or outside the seed object (416). */
const malformedRanges = [
  'bytes=abc',
  'bytes=5-1',
  'bytes=-',
  'bytes=',
  'bytes=--5',
  'bytes=1-2-3',
  'bytes=0x10-20',
  'bytes=1e3-',
  'bytes=0-1,abc',
  'bytes=0-1;',
  'bytes=,,,',
  'bytes=+1-2',
  'bytes=1 -2',
  'bytes=0--1',
  `bytes=${'9'.repeat(4000)}`,
  `bytes=${Array.from({ length: 1500 }, (_, i) => `${i * 2}-${i * 2}`).join(',')},x-y`,
];
const unsatisfiableRanges = (size: number) => [
  `bytes=${size}-`,
  'bytes=-0',
  'bytes=99999999-',
  'bytes=18446744073709551616-',
  `bytes=${size + 10}-${size + 20}`,
];

/** List query values outside what the route accepts. */
const badQueries = [
  'limit=0',
  'limit=-1',
  'limit=-0',
  'limit=1001',
  'limit=abc',
  'limit=1.5',
  'limit=NaN',
  'limit=Infinity',
  'limit=',
  'limit=99999999999999999999',
  'limit=1&limit=2',
  'limit=%zz',
  'cursor=',
  `cursor=${'c'.repeat(5000)}`,
  'cursor=a&cursor=b',
  // Cursors no listing returned: forged ones are refused on both drivers (S3 cursors wrap their token).
  'cursor=!!!not-a-cursor!!!',
  'cursor=%00',
  'cursor=%ff%fe',
  'prefix=../',
  'prefix=..%2f..%2f',
  'prefix=a/../../',
  'prefix=%00',
  'prefix=a//',
  'prefix=%5c',
  'prefix=/abs',
  'prefix=a%0d%0aX:1',
  'prefix=%e2%80%ae',
  `prefix=${'p'.repeat(1025)}`,
  'prefix=a&prefix=b',
];

export function readCases(target: Target): Case[] {
  const cases: Case[] = [];
  const auth = bearer(target.writerKey);
  for (const storage of target.storages) {
    const seedPath = `${objectsPath(storage)}/${target.seedKey}`;
    for (const range of malformedRanges) {
      cases.push({
        family: 'ranges',
        name: `${storage}: Range ${range.slice(0, 40)}`,
        request: send('GET', seedPath, [...auth, ['Range', range]]),
        expect: error('INVALID_RANGE'),
      });
    }
    for (const range of unsatisfiableRanges(target.seedSize)) {
      cases.push({
        family: 'ranges',
        name: `${storage}: Range ${range} (unsatisfiable)`,
        request: send('GET', seedPath, [...auth, ['Range', range]]),
        expect: error('RANGE_NOT_SATISFIABLE'),
      });
    }
    cases.push({
      family: 'ranges',
      name: `${storage}: Range on an object that does not exist`,
      request: send('GET', `${objectsPath(storage)}/missing.png`, [...auth, ['Range', 'bytes=0-1']]),
      expect: error('OBJECT_NOT_FOUND'),
    });
    for (const query of badQueries) {
      cases.push({
        family: 'queries',
        name: `${storage}: list ?${query.slice(0, 40)}`,
        request: send('GET', `${objectsPath(storage)}?${query}`, auth),
        expect: error('VALIDATION_FAILED', 'BAD_REQUEST'),
      });
    }
    cases.push({
      family: 'queries',
      name: `${storage}: list without credentials`,
      request: send('GET', `${objectsPath(storage)}?limit=abc`),
      expect: error('UNAUTHORIZED', 'VALIDATION_FAILED'),
    });
    cases.push({
      family: 'queries',
      name: `${storage}: list with the read-only key (no list grant)`,
      request: send('GET', `${objectsPath(storage)}?limit=5`, bearer(target.readerKey)),
      expect: error('FORBIDDEN'),
    });
  }
  // The local storage is public: its plain read route takes the same hostile Range headers.
  for (const range of ['bytes=abc', 'bytes=5-1', `bytes=${target.seedSize}-`]) {
    cases.push({
      family: 'ranges',
      name: `public route: Range ${range}`,
      request: send('GET', `/v1/public/${target.storages[1]}/${target.seedKey}`, [['Range', range]]),
      expect: error('INVALID_RANGE', 'RANGE_NOT_SATISFIABLE'),
    });
  }
  return cases;
}
