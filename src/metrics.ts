import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { isAppError } from './errors.ts';
import { isClientAbort } from './storage/client-abort.ts';
import type { StorageDriver } from './storage/driver.ts';
import type { PartPool } from './storage/part-pool.ts';
import type { Storage } from './storage/storage.ts';
import type { WriteSink } from './storage/writes.ts';

/**
 * Prometheus metrics, one Registry per app (never prom-client's global one), so a process — or a test
 * file — can build several apps without "metric already registered". Storage metrics come from
 * wrapping each storage's driver (`instrumentStorages`), HTTP metrics from Fastify hooks
 * (src/http/metrics.ts); no route or driver knows about them.
 */

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly uploadBytes: Counter<'storage'>;
  readonly uploadSize: Histogram<'storage'>;
  readonly uploadDuration: Histogram<'storage' | 'outcome'>;
  readonly uploadsInFlight: Gauge<'storage'>;
  readonly backendErrors: Counter<'storage' | 'operation' | 'code' | 'error'>;
  readonly presignedUrls: Counter<'storage'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // process_* and nodejs_* under their standard names, so stock Node.js dashboards work.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'stowage_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern (never the raw URL) and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'stowage_http_request_duration_seconds',
      help: 'Time from receiving a request to finishing its response (uploads included), by route.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    uploadBytes: new Counter({
      name: 'stowage_upload_bytes_total',
      help: 'Bytes of objects stored (multipart uploads and raw PUTs), by storage.',
      labelNames: ['storage'],
      registers,
    }),
    uploadSize: new Histogram({
      name: 'stowage_upload_size_bytes',
      help: 'Size of each stored object, by storage.',
      labelNames: ['storage'],
      // 1 KiB … 4 GiB in steps of 4×.
      buckets: Array.from({ length: 12 }, (_, i) => 1024 * 4 ** i),
      registers,
    }),
    uploadDuration: new Histogram({
      name: 'stowage_upload_duration_seconds',
      help:
        'Time one file write took, from its first byte to the backend answer, by storage and outcome ' +
        '(stored, refused, aborted, failed; files removed by an all-or-nothing rollback are refused).',
      labelNames: ['storage', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    }),
    uploadsInFlight: new Gauge({
      name: 'stowage_uploads_in_flight',
      help: 'Objects being written to the backend right now, by storage.',
      labelNames: ['storage'],
      registers,
    }),
    backendErrors: new Counter({
      name: 'stowage_backend_errors_total',
      help:
        'Failed backend operations, by storage, operation (S3 API call, e.g. PutObject), backend code ' +
        '(e.g. AccessDenied, ECONNREFUSED) and the error code clients saw; ordinary answers (no such ' +
        'key, key exists, precondition failed) are not failures.',
      labelNames: ['storage', 'operation', 'code', 'error'],
      registers,
    }),
    presignedUrls: new Counter({
      name: 'stowage_presigned_urls_total',
      help: 'Presigned (or service-signed) download URLs issued, by storage.',
      labelNames: ['storage'],
      registers,
    }),
  };
}

/**
 * The upload memory pool's use (part-pool.ts), read when scraped: buffers that exist, lent now, the
 * most ever lent, the capacity (limits.uploadMemory), and uploads queued for a buffer.
 */
export function observePartPool(metrics: Metrics, pool: PartPool): void {
  const registers = [metrics.registry];
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge(
    'stowage_upload_buffer_bytes',
    'Upload part buffers that exist: lent plus kept for reuse.',
    () => pool.use.allocated,
  );
  gauge(
    'stowage_upload_buffer_lent_bytes',
    'Upload part buffers lent to uploads right now.',
    () => pool.use.lent,
  );
  gauge(
    'stowage_upload_buffer_peak_bytes',
    'The most upload buffer memory ever lent at once.',
    () => pool.use.peak,
  );
  gauge(
    'stowage_upload_buffer_capacity_bytes',
    'The upload memory budget (limits.uploadMemory).',
    () => pool.capacity,
  );
  gauge(
    'stowage_uploads_waiting',
    'Uploads queued for a part buffer, their bodies unread.',
    () => pool.use.waiting,
  );
}

/** Backend codes become label values; anything odd-looking is folded so labels stay few. */
const labelSafe = (value: unknown, fallback: string): string =>
  typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : fallback;

/**
 * The backend failure an error records, or undefined when the error is not the backend's: a client
 * that went away, a body over the size limit, a refused type. Drivers put `operation` (and the S3
 * code or errno) in the diagnostics of every error they translate; anything untranslated is a failure too.
 */
export function backendFailure(
  error: unknown,
  method: string,
): { operation: string; code: string; error: string } | undefined {
  // A body whose client went away reaches the driver as the body's own error (Node's "aborted",
  // a premature close), untranslated: that is the client leaving, not the backend failing.
  if (isClientAbort(error)) return undefined;
  if (!isAppError(error)) {
    // Untranslated: the error handler will answer INTERNAL_ERROR.
    const name = (error as { name?: unknown } | undefined)?.name;
    return { operation: method, code: labelSafe(name, 'Unknown'), error: 'INTERNAL_ERROR' };
  }
  // The backend answering the client's question (no such key, the key exists, a precondition or range
  // that does not hold, a concurrent write): the client gets a 4xx and the backend is healthy.
  if (error.isClientError) return undefined;
  const backend = error.backend;
  if (backend === undefined) return undefined;
  return {
    operation: labelSafe(backend.operation, method),
    code: labelSafe(backend.code, 'Unknown'),
    error: error.code,
  };
}

/** The driver with every call observed; behaviour and results are unchanged. */
export function instrumentDriver(storage: string, driver: StorageDriver, metrics: Metrics): StorageDriver {
  const observe = async <T>(method: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      const failure = backendFailure(error, method);
      if (failure) metrics.backendErrors.inc({ storage, ...failure });
      throw error;
    }
  };
  return {
    kind: driver.kind,
    partBufferSize: (write) => driver.partBufferSize(write),
    async put(input) {
      metrics.uploadsInFlight.inc({ storage });
      try {
        return await observe('put', () => driver.put(input));
      } finally {
        metrics.uploadsInFlight.dec({ storage });
      }
    },
    get: (input) => observe('get', () => driver.get(input)),
    head: (key) => observe('head', () => driver.head(key)),
    delete: (key) => observe('delete', () => driver.delete(key)),
    list: (input) => observe('list', () => driver.list(input)),
    async presignGet(input) {
      const signed = await observe('presign', () => driver.presignGet(input));
      metrics.presignedUrls.inc({ storage });
      return signed;
    },
    publicUrl: (key) => driver.publicUrl(key),
    check: () => observe('check', () => driver.check()),
    close: () => driver.close(),
    ...(driver.resumable !== undefined && { resumable: driver.resumable }),
    ...(driver.direct !== undefined && { direct: driver.direct }),
  };
}

/**
 * What became of each file (reported by the write path, src/storage/writes.ts, once its request is
 * decided): a file an all-or-nothing upload removed again is reported as refused, never as stored.
 */
function recordWrites(storage: string, metrics: Metrics): WriteSink {
  return ({ outcome, seconds, bytes }) => {
    metrics.uploadDuration.observe({ storage, outcome }, seconds);
    if (outcome !== 'stored') return;
    metrics.uploadBytes.inc({ storage }, bytes);
    metrics.uploadSize.observe({ storage }, bytes);
  };
}

/** The same storages, each with an instrumented driver and write sink; per-storage series start at zero. */
export function instrumentStorages(
  storages: ReadonlyMap<string, Storage>,
  metrics: Metrics,
): Map<string, Storage> {
  const instrumented = new Map<string, Storage>();
  for (const [name, storage] of storages) {
    metrics.uploadBytes.inc({ storage: name }, 0);
    metrics.uploadsInFlight.set({ storage: name }, 0);
    metrics.presignedUrls.inc({ storage: name }, 0);
    instrumented.set(name, {
      ...storage,
      driver: instrumentDriver(name, storage.driver, metrics),
      reportWrite: recordWrites(name, metrics),
    });
  }
  return instrumented;
}
