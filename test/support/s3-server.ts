// Finds or starts the S3 server the integration tests run against, in this order:
//   1. env: STOWAGE_TEST_S3_ENDPOINT (+ STOWAGE_TEST_S3_ACCESS_KEY_ID, STOWAGE_TEST_S3_SECRET_ACCESS_KEY,
//      STOWAGE_TEST_S3_REGION = us-east-1) — any S3 server you already run; never stopped by us;
//   2. MinIO in a container (testcontainers) when a Docker engine answers within a few seconds;
//   3. a single-node Ceph RADOS Gateway on loopback, via test/support/ceph-rgw.sh (installs the Debian
//      packages when missing, then ≈ 5 s from nothing; CEPH_DIR, RGW_PORT, S3_ACCESS_KEY, S3_SECRET_KEY
//      pass through to the script).
// Ceph lifetime: a cluster that was already answering is never stopped (another run may be using
// it). One this run started is stopped at the end when CI=true or STOWAGE_TEST_CEPH_KEEP=0, and kept
// otherwise so the next local run reuses it at once; stop it with `test/support/ceph-rgw.sh stop`.
// STOWAGE_TEST_S3_SERVER=minio|ceph skips the detection and uses that one; a MinIO that fails to
// start (no image, no registry) falls back to Ceph.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

/** How to reach the test S3 server: plain JSON, what tests get from `inject('s3')`. */
export interface S3TestServer {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  kind: 'env' | 'minio' | 'ceph';
}

export interface ResolvedS3Server extends S3TestServer {
  /** Releases the server (a no-op for servers this run does not own). */
  stop(): Promise<void>;
}

// Docker Hub stopped serving minio/minio; quay.io carries the same releases (override with
// STOWAGE_TEST_MINIO_IMAGE).
const MINIO_IMAGE = 'quay.io/minio/minio:RELEASE.2025-02-28T09-55-16Z';
const CEPH_SCRIPT = fileURLToPath(new URL('./ceph-rgw.sh', import.meta.url));
const DOCKER_PROBE_MS = 4_000;
const noop = async (): Promise<void> => {};

export async function resolveS3Server(): Promise<ResolvedS3Server> {
  const env = process.env;
  if (env.STOWAGE_TEST_S3_ENDPOINT) {
    return {
      endpoint: env.STOWAGE_TEST_S3_ENDPOINT,
      region: env.STOWAGE_TEST_S3_REGION || 'us-east-1',
      accessKeyId: env.STOWAGE_TEST_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.STOWAGE_TEST_S3_SECRET_ACCESS_KEY ?? '',
      forcePathStyle: true,
      kind: 'env',
      stop: noop,
    };
  }
  const wanted = env.STOWAGE_TEST_S3_SERVER;
  if (wanted === 'minio') return startMinio();
  if (wanted !== 'ceph' && (await dockerAnswers())) {
    try {
      return await startMinio();
    } catch (error) {
      process.stderr.write(`[s3] MinIO container did not start (${String(error)}); using Ceph RGW\n`);
    }
  }
  return startCeph();
}

/** True when a container engine answers; quiet and bounded when there is none. */
async function dockerAnswers(): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), DOCKER_PROBE_MS);
    });
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function startMinio(): Promise<ResolvedS3Server> {
  const { MinioContainer } = await import('@testcontainers/minio');
  const container = await new MinioContainer(process.env.STOWAGE_TEST_MINIO_IMAGE || MINIO_IMAGE).start();
  return {
    endpoint: container.getConnectionUrl(),
    region: 'us-east-1',
    accessKeyId: container.getUsername(),
    secretAccessKey: container.getPassword(),
    forcePathStyle: true,
    kind: 'minio',
    stop: async () => {
      await container.stop();
    },
  };
}

async function startCeph(): Promise<ResolvedS3Server> {
  const env = process.env;
  // the script's defaults, spelled out so both sides agree
  const settings = {
    CEPH_DIR: env.CEPH_DIR || '/tmp/stowage-ceph',
    RGW_PORT: env.RGW_PORT || '7480',
    S3_ACCESS_KEY: env.S3_ACCESS_KEY || 'AKIASTOWAGETEST00001',
    S3_SECRET_KEY: env.S3_SECRET_KEY || 'stowagetestsecretstowagetestsecret000001',
  };
  const info: S3TestServer = {
    endpoint: `http://127.0.0.1:${settings.RGW_PORT}`,
    region: 'us-east-1', // RGW's default zonegroup answers to us-east-1 only
    accessKeyId: settings.S3_ACCESS_KEY,
    secretAccessKey: settings.S3_SECRET_KEY,
    forcePathStyle: true,
    kind: 'ceph',
  };
  const script = (command: 'start' | 'stop') => runScript(command, { ...env, ...settings });

  const wasRunning = await checkS3(info).then(
    () => true,
    () => false,
  );
  if (!wasRunning) await script('start');
  const stopAtEnd = !wasRunning && (isTrue(env.CI) || env.STOWAGE_TEST_CEPH_KEEP === '0');
  return {
    ...info,
    stop: async () => {
      if (stopAtEnd) await script('stop');
      else if (!wasRunning) {
        process.stderr.write(
          `[s3] Ceph RGW left running on ${info.endpoint} for the next run; stop it with ` +
            `test/support/ceph-rgw.sh stop\n`,
        );
      }
    },
  };
}

/** Throws unless the server answers ListBuckets with these credentials (one try). */
export async function checkS3(info: S3TestServer, timeoutMs = 3_000): Promise<void> {
  const client = new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: info.forcePathStyle,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
  } finally {
    client.destroy();
  }
}

function runScript(command: 'start' | 'stop', env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    // progress goes to our stderr, so CI logs show the install and start-up
    const child = spawn('bash', [CEPH_SCRIPT, command], { env, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`ceph-rgw.sh ${command} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
