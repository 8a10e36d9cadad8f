import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { AppError } from '../errors.ts';

/**
 * Object keys. Server-generated keys are 128 random bits (hex, so safe on case-insensitive disks and
 * in URLs) plus an extension from the stored type (chooseExtension): the raw client filename never
 * becomes a key.
 * Caller-chosen keys (raw PUT) are validated against the rules S3 and filesystems both tolerate.
 */

const MAX_KEY_BYTES = 1024;
const MAX_FILENAME_CHARS = 255;
const MAX_FILENAME_BYTES = 512;
const safeExtension = /^[a-z0-9]{1,12}$/;

export function generateKey(extension?: string): string {
  const id = randomId();
  return extension ? `${id}.${extension}` : id;
}

/**
 * 128 bits from the CSPRNG, hex. Drawn from a block of 256 ids filled at once, as
 * `crypto.randomUUID()` does with its own cache: a synchronous `randomBytes(16)` per key cost
 * ≈ 20 µs (the crypto job set up per call), a few per cent of a small upload (bench/README).
 */
const ID_BYTES = 16;
let idBlock = Buffer.alloc(0);
let idOffset = 0;
function randomId(): string {
  if (idOffset + ID_BYTES > idBlock.length) {
    idBlock = randomBytes(ID_BYTES * 256);
    idOffset = 0;
  }
  const id = idBlock.toString('hex', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

/**
 * Extensions for stored types the sniffer cannot recognise (text): the first is the default, the
 * others are what a client's filename may keep. A type missing here gets no extension, whatever the
 * filename says: an unrecognised body named `x.html`, `x.svg`, `x.js`, `x.exe` or `x.sh` would
 * otherwise be published under a key that a CDN, a browser or a desktop treats by its extension.
 */
const textExtensions: Record<string, readonly [string, ...string[]]> = {
  'text/plain': ['txt', 'text', 'log'],
  'text/csv': ['csv'],
  'text/tab-separated-values': ['tsv'],
  'text/markdown': ['md', 'markdown'],
  'application/json': ['json'],
  'application/x-ndjson': ['ndjson', 'jsonl'],
};

/**
 * The extension for a generated key: the sniffed type's when the content was recognised (it cannot
 * lie), else one that fits the stored type (the filename's when it is one of that type's, e.g.
 * `.log` for text/plain), else none.
 */
export function chooseExtension(
  detectedExtension: string | undefined,
  storedType: string,
  filename: string | undefined,
): string | undefined {
  if (detectedExtension && safeExtension.test(detectedExtension)) return detectedExtension;
  const fitting = textExtensions[storedType];
  if (!fitting) return undefined;
  const given = filename ? extname(filename).slice(1).toLowerCase() : '';
  return fitting.includes(given) ? given : fitting[0];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * A client filename made fit to keep: Unicode NFC, control and bidi-override characters removed,
 * any path part dropped, length bounded. Undefined when nothing usable remains.
 */
export function sanitizeFilename(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const base = raw.normalize('NFC').replace(controlCharacters, '').split(/[/\\]/).pop() ?? '';
  const trimmed = base.trim();
  if (trimmed === '' || trimmed === '.' || trimmed === '..') return undefined;
  // Bounded in characters and in bytes, for the Content-Disposition that carries it (512 UTF-8 bytes
  // are at most 1.5 KB percent-encoded). The S3 driver's metadata copy is bounded further (metadata.ts).
  let name = '';
  let bytes = 0;
  for (const char of [...trimmed].slice(0, MAX_FILENAME_CHARS)) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > MAX_FILENAME_BYTES) break;
    name += char;
  }
  return name;
}

/**
 * Where an S3 storage keeps the state of resumable uploads (tails, leases: drivers/s3/resumable.ts), at
 * the bucket's root. Only a storage with an empty prefix could reach it, so no client key may start
 * with it and listings leave it out.
 */
export const RESUMABLE_STATE_PREFIX = '.stowage-resumable/';

/**
 * Where direct uploads land before they are verified (src/storage/direct/issued-key.ts): at the
 * bucket's root, beside RESUMABLE_STATE_PREFIX, so outside the prefix (and the public-read policy) of
 * every storage but one with an empty prefix, which refuses it as a key or list prefix and leaves it
 * out of listings. No read, link or listing of Stowage reaches unverified bytes.
 */
export const DIRECT_STAGING_PREFIX = '.stowage-direct/';

const reservedPrefixes = [RESUMABLE_STATE_PREFIX, DIRECT_STAGING_PREFIX];

/** Throws INVALID_KEY unless `key` is a safe caller-chosen key; returns it unchanged. */
export function validateKey(key: string): string {
  const problem = keyProblem(key);
  if (problem) throw new AppError('INVALID_KEY', `invalid object key: ${problem}`);
  return key;
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.normalize('NFC') !== key) return 'it is not in Unicode NFC form';
  controlCharacters.lastIndex = 0;
  if (controlCharacters.test(key)) return 'it contains control characters';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it starts with "/"';
  if (key.endsWith('/')) return 'it ends with "/"';
  const reserved = reservedPrefixes.find((prefix) => `${key}/`.startsWith(prefix));
  if (reserved !== undefined) return `"${reserved}" is reserved for Stowage`;
  const segments = key.split('/');
  if (segments.some((segment) => segment === '')) return 'it contains an empty segment ("//")';
  if (segments.some((segment) => segment === '.' || segment === '..'))
    return 'it contains a "." or ".." segment';
  if (/[\uD800-\uDFFF]/.test(key) && !key.isWellFormed()) return 'it is not valid UTF-8';
  return undefined;
}

/** Validates a list prefix: like a key, but may be empty and may end with "/". */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const probe = prefix.endsWith('/') ? `${prefix}x` : prefix;
  const problem = keyProblem(probe);
  if (problem) throw new AppError('BAD_REQUEST', `invalid prefix: ${problem}`);
  return prefix;
}
