import { describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLinks } from '../../src/storage/registry.ts';
import { dropUpload } from '../support/dropped-upload.ts';
import { parseExposition, type Sample, sampleValue } from '../support/exposition.ts';
import { form, pdf, png } from '../support/payloads.ts';
import { slowUpload } from '../support/slow-upload.ts';
import { useStowage } from '../support/stowage.ts';

/**
 * /metrics after real uploads over HTTP against the real S3 server: the Prometheus exposition is
 * parsed, and each counter must have moved by exactly what the requests did.
 */

const stowage = useStowage({
  // denied gets a bucket of its own: storages may not share keys (the config refuses it).
  buckets: ['media', 'docs', 'denied'],
  storages: (buckets) => ({
    media: { driver: 's3', bucket: buckets.media!, access: 'public', allowedTypes: ['image/*'] },
    docs: { driver: 's3', bucket: buckets.docs!, maxFileSize: '1MiB' },
    scratch: { driver: 'local', maxFileSize: '1MiB' },
    denied: {
      driver: 's3',
      bucket: buckets.denied!,
      s3: {
        maxAttempts: 1,
        credentials: {
          accessKeyId: inject('s3').accessKeyId,
          secretAccessKey: 'not-the-secret-0000000000000000',
        },
      },
    },
  }),
});

async function scrape(): Promise<{ samples: Sample[]; contentType: string | null; text: string }> {
  const response = await fetch(`${stowage.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { samples: parseExposition(text), contentType: response.headers.get('content-type'), text };
}

/** The sum of every series of `name` carrying (at least) these labels. */
function sumOf(samples: Sample[], name: string, labels: Record<string, string>): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** Scrapes until the storage has `count` uploads in flight (the server sees a client's bytes or its leaving late). */
async function untilInFlight(storage: string, count: number): Promise<number> {
  let inFlight = -1;
  for (let attempt = 0; attempt < 100 && inFlight !== count; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    inFlight = sampleValue((await scrape()).samples, 'stowage_uploads_in_flight', { storage });
  }
  return inFlight;
}

const sumDelta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string>) =>
  sumOf(after, name, labels) - sumOf(before, name, labels);

const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) =>
  sampleValue(after, name, labels) - sampleValue(before, name, labels);

const upload = (storage: string, body: FormData) =>
  fetch(`${stowage.url}/v1/storages/${storage}/objects`, { method: 'POST', body });

describe('metrics', () => {
  it('counts requests by route pattern, stored bytes and upload durations per storage, presigned URLs', async () => {
    const before = (await scrape()).samples;

    const two = form(
      { name: 'a.png', type: 'image/png', data: png(3000) },
      { name: 'b.png', type: 'image/png', data: png(5000) },
    );
    expect((await upload('media', two)).status).toBe(201);
    const put = await fetch(`${stowage.url}/v1/storages/docs/objects/reports/q1.pdf`, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf' },
      body: new Uint8Array(pdf(4000)),
    });
    expect(put.status).toBe(201);
    expect((await fetch(`${stowage.url}/v1/storages/docs/objects/reports/q1.pdf`)).status).toBe(200);
    const again = await fetch(`${stowage.url}/v1/storages/docs/objects/reports/q1.pdf`, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf' },
      body: new Uint8Array(pdf(4000)),
    });
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('OBJECT_EXISTS');
    expect((await fetch(`${stowage.url}/v1/storages/docs/objects/reports/missing.pdf`)).status).toBe(404);
    expect(
      (await upload('docs', form({ name: 'big.pdf', type: 'application/pdf', data: pdf(2 * 2 ** 20) })))
        .status,
    ).toBe(413);
    const link = await fetch(`${stowage.url}/v1/storages/docs/urls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'reports/q1.pdf' }),
    });
    expect(link.status).toBe(200);
    expect((await fetch(`${stowage.url}/no/such/route/42`)).status).toBe(404);

    const { samples: after, contentType, text } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(delta(before, after, 'stowage_upload_bytes_total', { storage: 'media' })).toBe(8000);
    expect(delta(before, after, 'stowage_upload_bytes_total', { storage: 'docs' })).toBe(4000);
    expect(delta(before, after, 'stowage_upload_size_bytes_count', { storage: 'media' })).toBe(2);
    expect(delta(before, after, 'stowage_upload_size_bytes_bucket', { storage: 'media', le: '4096' })).toBe(
      1,
    );
    expect(delta(before, after, 'stowage_upload_size_bytes_bucket', { storage: 'media', le: '16384' })).toBe(
      2,
    );
    const stored = { storage: 'media', outcome: 'stored' };
    expect(delta(before, after, 'stowage_upload_duration_seconds_count', stored)).toBe(2);
    expect(delta(before, after, 'stowage_upload_duration_seconds_sum', stored)).toBeGreaterThan(0);
    expect(
      delta(before, after, 'stowage_upload_duration_seconds_count', { storage: 'docs', outcome: 'stored' }),
    ).toBe(1);
    // The 2 MiB file, and the create-only PUT onto an existing key.
    expect(
      delta(before, after, 'stowage_upload_duration_seconds_count', { storage: 'docs', outcome: 'refused' }),
    ).toBe(2);
    expect(sampleValue(after, 'stowage_uploads_in_flight', { storage: 'media' })).toBe(0);
    expect(delta(before, after, 'stowage_presigned_urls_total', { storage: 'docs' })).toBe(1);

    const requests = (method: string, route: string, status: string) =>
      delta(before, after, 'stowage_http_requests_total', { method, route, status_code: status });
    expect(requests('POST', '/v1/storages/:storage/objects', '201')).toBe(1);
    expect(requests('POST', '/v1/storages/:storage/objects', '413')).toBe(1);
    expect(requests('PUT', '/v1/storages/:storage/objects/*', '201')).toBe(1);
    expect(requests('PUT', '/v1/storages/:storage/objects/*', '409')).toBe(1);
    expect(requests('GET', '/v1/storages/:storage/objects/*', '200')).toBe(1);
    expect(requests('GET', '/v1/storages/:storage/objects/*', '404')).toBe(1);
    expect(requests('POST', '/v1/storages/:storage/urls', '200')).toBe(1);
    expect(requests('GET', '(unmatched)', '404')).toBe(1);
    const timed = { method: 'POST', route: '/v1/storages/:storage/objects', status_code: '201' };
    expect(delta(before, after, 'stowage_http_request_duration_seconds_count', timed)).toBe(1);
    expect(delta(before, after, 'stowage_http_request_duration_seconds_sum', timed)).toBeGreaterThan(0);
    // Route patterns only: no key, no raw URL ever becomes a label value.
    expect(text).not.toMatch(/q1\.pdf|missing\.pdf|no\/such/);

    // S3's ordinary answers are no backend failures: 404 to GetObject for the missing object, 412 to
    // the create-only write onto an existing key.
    expect(sumDelta(before, after, 'stowage_backend_errors_total', { storage: 'docs' })).toBe(0);
    // Node's default process metrics, in this app's own registry.
    expect(sampleValue(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(after, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('shows an upload in flight while its body is still arriving', async () => {
    const slow = slowUpload(stowage.url, '/v1/storages/docs/objects/slow.bin', 200_000);
    await slow.send(100_000);
    expect(await untilInFlight('docs', 1)).toBe(1);
    await slow.send(100_000);
    slow.finish();
    expect((await slow.response).status).toBe(201);
    expect(sampleValue((await scrape()).samples, 'stowage_uploads_in_flight', { storage: 'docs' })).toBe(0);
  });

  it('counts a client that leaves mid-upload as aborted, not as a failed upload or a backend error', async () => {
    const before = (await scrape()).samples;
    const seen = stowage.logs.length;
    for (const storage of ['docs', 'scratch'])
      for (const kind of ['put', 'form'] as const) {
        const path = `/v1/storages/${storage}/objects${kind === 'put' ? `/left/${storage}.bin` : ''}`;
        const upload = { kind, path, size: 600_000, dropAfter: 200_000 };
        // Dropped while the server is writing the file: in flight, its body cut short.
        const dropped = await dropUpload(stowage.url, upload, {
          beforeDrop: () => untilInFlight(storage, 1),
        });
        expect(dropped.answeredEarly).toBeUndefined();
        expect(await untilInFlight(storage, 0)).toBe(0);
      }
    const after = (await scrape()).samples;
    for (const storage of ['docs', 'scratch']) {
      const outcome = (name: string) =>
        delta(before, after, 'stowage_upload_duration_seconds_count', { storage, outcome: name });
      expect({ storage, aborted: outcome('aborted'), failed: outcome('failed') }).toEqual({
        storage,
        aborted: 2,
        failed: 0,
      });
      const backendErrors = sumDelta(before, after, 'stowage_backend_errors_total', { storage });
      expect({ storage, backendErrors }).toEqual({ storage, backendErrors: 0 });
    }
    expect(stowage.logs.slice(seen).filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
  });

  it('counts a refused type as refused, and files an all-or-nothing upload removed again as refused, not stored', async () => {
    const before = (await scrape()).samples;
    const keysBefore = await stowage.backend('media').keys();
    const mixed = form(
      { name: 'ok.png', type: 'image/png', data: png(3000) },
      { name: 'report.pdf', type: 'application/pdf', data: pdf(3000) },
    );
    const response = await upload('media', mixed);
    expect(response.status).toBe(415);
    expect(await stowage.backend('media').keys()).toEqual(keysBefore);
    const after = (await scrape()).samples;
    const outcome = (name: string) =>
      delta(before, after, 'stowage_upload_duration_seconds_count', { storage: 'media', outcome: name });
    expect({ stored: outcome('stored'), refused: outcome('refused') }).toEqual({ stored: 0, refused: 2 });
    expect(delta(before, after, 'stowage_upload_bytes_total', { storage: 'media' })).toBe(0);
    expect(delta(before, after, 'stowage_upload_size_bytes_count', { storage: 'media' })).toBe(0);
  });

  it('counts S3 refusals by operation and S3 code, and the failed upload', async () => {
    const before = (await scrape()).samples;
    const response = await upload(
      'denied',
      form({ name: 'x.pdf', type: 'application/pdf', data: pdf(1000) }),
    );
    expect(response.status).toBe(502);
    expect((await fetch(`${stowage.url}/readyz`)).status).toBe(503);
    const after = (await scrape()).samples;
    const refused = {
      storage: 'denied',
      operation: 'PutObject',
      code: 'SignatureDoesNotMatch',
      error: 'STORAGE_ERROR',
    };
    expect(delta(before, after, 'stowage_backend_errors_total', refused)).toBe(1);
    expect(
      delta(before, after, 'stowage_upload_duration_seconds_count', { storage: 'denied', outcome: 'failed' }),
    ).toBe(1);
    // Readiness checks each storage with HeadBucket, whose 403 has no body (hence no S3 code).
    expect(
      delta(before, after, 'stowage_backend_errors_total', { storage: 'denied', operation: 'HeadBucket' }),
    ).toBe(1);
  });

  it('keeps one registry per app: a second app starts from zero', async () => {
    const config = parseConfig({ storages: { media: { driver: 'local' } } }, {}, 'second app');
    const other = await buildApp(config, { storages: new Map(), links: createLinks(config) });
    try {
      const response = await other.inject('/metrics');
      const samples = parseExposition(response.body);
      expect(sampleValue(samples, 'stowage_upload_bytes_total', { storage: 'media' })).toBe(0);
      expect(samples.some((sample) => sample.name === 'stowage_http_requests_total')).toBe(false);
    } finally {
      await other.close();
    }
    // …and the first app's counters are still its own.
    const mine = (await scrape()).samples;
    expect(sampleValue(mine, 'stowage_upload_bytes_total', { storage: 'media' })).toBeGreaterThanOrEqual(
      8000,
    );
  });
});
