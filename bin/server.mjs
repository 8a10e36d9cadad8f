// `npm start` / `npm run dev`: the Node.js check, then the server (src/server.ts).
import { requireNode } from './require-node.mjs';

requireNode();
await import('../src/server.ts');
