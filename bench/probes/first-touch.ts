/**
 * What a part buffer's memory costs on first touch against reuse: 64 buffers of 8 MiB (the shipped
 * 512 MiB upload pool) filled in 64 KiB copies, as an upload fills its part buffer from the socket —
 * first freshly allocated (every page faulted in by the copy), then the same buffers again, then
 * fresh ones after the first were freed. Prints CPU seconds per GiB copied for each.
 *
 *   node --expose-gc bench/probes/first-touch.ts
 */
const BUFFERS = 64;
const PART = 8 * 2 ** 20;
const chunk = Buffer.alloc(64 * 1024, 1);

function fill(label: string, buffers: Buffer[]): void {
  const started = process.cpuUsage();
  for (let offset = 0; offset < PART; offset += chunk.length) {
    for (const buffer of buffers) chunk.copy(buffer, offset);
  }
  const used = process.cpuUsage(started);
  const gib = (BUFFERS * PART) / 2 ** 30;
  console.log(`${label}: ${((used.user + used.system) / 1e6 / gib).toFixed(2)} s/GiB`);
}

const fresh = () => Array.from({ length: BUFFERS }, () => Buffer.allocUnsafeSlow(PART));
let buffers = fresh();
fill('fresh buffers (first touch)', buffers);
fill('the same buffers again (reused)', buffers);
buffers = [];
(globalThis as { gc?: () => void }).gc?.();
buffers = fresh();
fill('fresh buffers after the first were freed', buffers);
