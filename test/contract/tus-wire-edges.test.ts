import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { contents } from '../support/backend.ts';
import { pdf, sha256 } from '../support/payloads.ts';
import { DRIVERS, forDriver, useStowage } from '../support/stowage.ts';

/**
 * tus protocol edge cases written on a raw socket (issue 14, "Tests in the suite"): what a client can
 * send that fetch() would never let through — bad or oversized Upload-Metadata, lengths that are not
 * numbers, a deferred length, and a PATCH whose body stops short of its Content-Length. Each is a
 * clear 4xx with nothing stored, or (the short body) an offset the next PATCH continues from.
 */

const MiB = 1024 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` (and `body`, then `end` the socket if asked) and reads one HTTP/1.1 answer. */
function wire(base: string, head: string, body: Buffer = Buffer.alloc(0), endEarly = false): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const text = received.toString('latin1');
      const [statusLine = '', ...lines] = text.split('\r\n\r\n')[0]!.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1] ?? 0),
        headers,
        body: text.slice(text.indexOf('\r\n\r\n') + 4),
      });
    });
    // Open access answers only loopback hosts (browser-guard): name the one we connect to.
    socket.write(head.replaceAll('Host: stowage.test', `Host: ${hostname}:${port}`).replaceAll('\n', '\r\n'));
    socket.write(body);
    // A body short of its Content-Length: the client stops sending and leaves.
    if (endEarly) setTimeout(() => socket.end(), 300);
  });
}

const post = (headers: string) =>
  `POST /v1/storages/tus/uploads HTTP/1.1\nHost: stowage.test\nTus-Resumable: 1.0.0\nConnection: close\n${headers}\n`;

for (const driver of DRIVERS)
  describe(`${driver} driver`, () => {
    const stowage = useStowage(forDriver(driver, { tus: { partSize: '5MiB', maxFileSize: '64MiB' } }));
    const codeOf = (answer: Answer) => (JSON.parse(answer.body) as { error: { code: string } }).error.code;

    it('refuses bad creation headers with 400 and creates nothing', async () => {
      const before = await contents(stowage.backend('tus'));
      const cases = {
        'oversized metadata': `Upload-Length: 10\nUpload-Metadata: filename ${Buffer.alloc(5000, 'a').toString('base64')}\n`,
        'a pair that is not `key base64`': 'Upload-Length: 10\nUpload-Metadata: filename a b\n',
        'a value that is not base64': 'Upload-Length: 10\nUpload-Metadata: filename ***\n',
        'a value that is not UTF-8': `Upload-Length: 10\nUpload-Metadata: filename ${Buffer.from([0xff, 0xfe]).toString('base64')}\n`,
        'a length that is not a number': 'Upload-Length: ten\n',
        'a negative length': 'Upload-Length: -1\n',
        'a deferred length': 'Upload-Defer-Length: 1\n',
      };
      for (const [what, headers] of Object.entries(cases)) {
        const answer = await wire(stowage.url, post(headers));
        expect([what, answer.status, codeOf(answer)]).toEqual([what, 400, 'BAD_REQUEST']);
      }
      expect(await contents(stowage.backend('tus'))).toEqual(before);
    });

    it('a PATCH that stops short of its Content-Length keeps what arrived; the next PATCH goes on from there', async () => {
      const data = pdf(7 * MiB);
      const created = await wire(stowage.url, post(`Upload-Length: ${data.length}\n`));
      expect(created.status).toBe(201);
      const path = new URL(created.headers.location!).pathname;
      const patchHead = (offset: number, length: number) =>
        `PATCH ${path} HTTP/1.1\nHost: stowage.test\nTus-Resumable: 1.0.0\nConnection: close\n` +
        `Content-Type: application/offset+octet-stream\nUpload-Offset: ${offset}\nContent-Length: ${length}\n\n`;
      // Announces the whole file, sends 6 MiB, leaves.
      await wire(stowage.url, patchHead(0, data.length), data.subarray(0, 6 * MiB), true).catch(
        () => undefined,
      );
      // As a tus client does: HEAD for the offset, PATCH the rest; 423 (the broken PATCH still holds
      // the upload until the server has seen it end) and 409 (it moved on meanwhile) mean: ask again.
      const headOf = () =>
        wire(
          stowage.url,
          `HEAD ${path} HTTP/1.1\nHost: stowage.test\nTus-Resumable: 1.0.0\nConnection: close\n\n`,
        );
      let finished: Answer | undefined;
      let offset = Number.NaN;
      for (let attempt = 0; attempt < 50 && finished?.status !== 200; attempt++) {
        const head = await headOf();
        if (head.status === 200) {
          offset = Number(head.headers['upload-offset']);
          expect(offset).toBeLessThanOrEqual(6 * MiB);
          const rest = data.subarray(offset);
          finished = await wire(stowage.url, patchHead(offset, rest.length), rest);
          if (finished.status === 200) break;
          expect([409, 423]).toContain(finished.status);
        } else expect(head.status).toBe(423);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(finished?.status).toBe(200);
      expect(offset).toBeGreaterThanOrEqual(0);
      const stored = JSON.parse(finished!.body) as { key: string };
      const read = await fetch(`${stowage.url}/v1/storages/tus/objects/${stored.key}`);
      expect(sha256(Buffer.from(await read.arrayBuffer()))).toBe(sha256(data));
    });

    it('X-HTTP-Method-Override: a POST that says PATCH appends', async () => {
      const data = pdf(64 * 1024);
      const created = await wire(stowage.url, post(`Upload-Length: ${data.length}\n`));
      const path = new URL(created.headers.location!).pathname;
      const answer = await wire(
        stowage.url,
        `POST ${path} HTTP/1.1\nHost: stowage.test\nTus-Resumable: 1.0.0\nConnection: close\nX-HTTP-Method-Override: PATCH\n` +
          `Content-Type: application/offset+octet-stream\nUpload-Offset: 0\nContent-Length: ${data.length}\n\n`,
        data,
      );
      expect(answer.status).toBe(200);
      expect(answer.headers['upload-offset']).toBe(String(data.length));
    });
  });
