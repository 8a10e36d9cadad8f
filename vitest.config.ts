import { defineConfig } from 'vitest/config';

// Pure unit tests need nothing; everything else talks to a real S3 server over the network, which
// test/support/global-setup.ts finds or starts once per run.
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'test/http/**/*.test.ts',
            'test/contract/**/*.test.ts',
            'test/cli/**/*.test.ts',
            'test/faults/**/*.test.ts',
            'test/fuzz/**/*.test.ts',
          ],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // Suites share one S3 server; two files at a time keeps a 2-core CI machine responsive.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'quickstart',
          include: ['test/quickstart/**/*.test.ts'],
          // The README's S3 command runs against the same S3 server as the integration tests.
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 330_000,
        },
      },
      {
        // The Dockerfile built and run on a private Docker engine the project starts itself
        // (test/image/global-setup.ts), against the same S3 server as the integration tests.
        test: {
          name: 'image',
          include: ['test/image/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts', 'test/image/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
      {
        // Minutes of steady traffic against the real process (SOAK_SECONDS, default 120): alone, after
        // everything else, so its memory and timing figures are its own.
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          hookTimeout: 600_000,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
