// Files made in the demo page (demo/page.js exposes them as demo.makeFile and demo.digest): what the
// browser tests upload without writing anything to disk, and the hash they compare with what S3 holds.

/**
 * A file made in the page, so tests write nothing to disk: random bytes, or (with `seed`) the same
 * bytes and lastModified on every page load — the same fingerprint, to resume after a reload.
 * `head` (a binary string) is written first: the magic bytes the server sniffs.
 */
export function makeFile({ name, type, size, head = '', seed }) {
  const bytes = new Uint8Array(size);
  if (seed === undefined) {
    // getRandomValues fills at most 64 KiB per call.
    for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  } else {
    let x = seed >>> 0 || 1; // xorshift32
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 0xff;
    }
  }
  bytes.set(Uint8Array.from(head, (c) => c.charCodeAt(0)).subarray(0, size));
  return new File([bytes], name, { type, lastModified: seed ?? Date.now() });
}

export async function digest(blob) {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
