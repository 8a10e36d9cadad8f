#!/usr/bin/env -S node --experimental-strip-types --disable-warning=ExperimentalWarning
import { main } from './cli/main.ts';

/** `stowage <command>`: check, iam-policy, config, hash-key, openapi (see src/cli/main.ts). */
process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
