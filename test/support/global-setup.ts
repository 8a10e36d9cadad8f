// Vitest globalSetup of the integration project: finds or starts one S3 server for the whole run
// (see s3-server.ts for the order and the Ceph lifetime), checks that it answers, and hands its
// connection to the tests as `inject('s3')`.

import type { TestProject } from 'vitest/node';
import { checkS3, resolveS3Server, type S3TestServer } from './s3-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestServer;
  }
}

const READY_WITHIN_MS = 60_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const server = await resolveS3Server();
  const { stop, ...info } = server;
  try {
    await waitUntilAnswering(info);
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  process.stderr.write(`[s3] ${info.kind} S3 server at ${info.endpoint}, ready in ${Date.now() - t0} ms\n`);
  project.provide('s3', info);
  return stop;
}

/** ListBuckets with the test credentials until it succeeds; the last error if it never does. */
async function waitUntilAnswering(info: S3TestServer): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    try {
      return await checkS3(info, 5_000);
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`S3 server ${info.endpoint} (${info.kind}) does not answer ListBuckets`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
