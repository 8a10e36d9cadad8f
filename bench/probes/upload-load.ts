/**
 * The load side of bench/probes/small-uploads.ts, in a process of its own so that the probe's CPU
 * counters and profile hold Stowage's work only: `concurrency` closed-loop workers send 10 KiB uploads
 * (raw PUT or one-file multipart POST) through one undici Pool; after the warm-up it tells its parent
 * (IPC) that the measured window opens, and at its end how many uploads completed inside it.
 */
import { Pool } from 'undici';
import { sendUpload } from '../lib/http.ts';

export interface LoadOrder {
  origin: string;
  authorization: string;
  mode: 'put' | 'post';
  bytes: number;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** Keys of raw PUTs start with this (unique per run: the S3 stub refuses a key written before). */
  prefix: string;
}

export type LoadMessage =
  | { edge: 'start' }
  | { edge: 'end'; completed: number; errors: number; firstError?: string };

const order = JSON.parse(process.argv[2] ?? '{}') as LoadOrder;
const tell = (message: LoadMessage) => process.send?.(message);
const pool = new Pool(order.origin, { connections: order.concurrency, pipelining: 1 });
const body = Buffer.alloc(order.bytes, 0x61);
for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;

let window: 'warm-up' | 'open' | 'closed' = 'warm-up';
let completed = 0;
let errors = 0;
let firstError: string | undefined;
let sequence = 0;

const worker = async () => {
  while (window !== 'closed') {
    const answer = await sendUpload(
      pool,
      order.authorization,
      order.mode,
      order.mode === 'put' ? body : order.bytes,
      `${order.prefix}/${sequence++}`,
    ).catch((error: unknown) => ({ status: 0, text: String(error), key: undefined }));
    // Counted when it completes inside the window: CPU over the window divided by this is unbiased.
    if (window !== 'open') continue;
    if (answer.status === 201) completed++;
    else {
      errors++;
      firstError ??= `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`;
    }
  }
};

setTimeout(() => {
  window = 'open';
  tell({ edge: 'start' });
  setTimeout(() => {
    window = 'closed';
    tell({ edge: 'end', completed, errors, ...(firstError !== undefined && { firstError }) });
  }, order.seconds * 1000);
}, order.warmupSeconds * 1000);

await Promise.all(Array.from({ length: order.concurrency }, worker));
await pool.close();
process.disconnect?.();
