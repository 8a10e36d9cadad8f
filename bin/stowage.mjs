#!/usr/bin/env node
// The `stowage` command (package.json `bin`, `npm run cli`): the Node.js check, then src/cli.ts.
import { requireNode } from './require-node.mjs';

requireNode();
await import('../src/cli.ts');
