// `npm run demo`: the Node.js check, then the demo page's server (demo/server.ts).
import { requireNode } from './require-node.mjs';

requireNode();
const { demoOptions, startDemo } = await import('../demo/server.ts');
const options = demoOptions(process.env);
const demo = await startDemo(options);
process.stdout.write(`Stowage demo page: ${demo.url} (uploads to ${options.stowageUrl})\n`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => demo.close());
