/**
 * Splits a CPU profile of Stowage answering small uploads into the stages of an upload, in µs per
 * upload: each sample goes to the first stage (in the order below) that has a frame on its stack, so
 * a hash under the receipt's code counts as the receipt and fastify counts only what nothing more
 * specific claims. The busy time (all samples but idle) is scaled to the CPU measured per upload.
 *
 *   node bench/probes/stages.ts <file.cpuprofile> <CPU ms per upload>   (also used by small-uploads.ts)
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[] | undefined;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[] | undefined;
  timeDeltas?: number[] | undefined;
}

type Rule = [stage: string, matches: (frame: CallFrame) => boolean];
const file = (pattern: RegExp) => (frame: CallFrame) => pattern.test(frame.url);
const named = (pattern: RegExp, where: RegExp) => (frame: CallFrame) =>
  pattern.test(frame.functionName) && where.test(frame.url);

/** Most specific first. */
const RULES: Rule[] = [
  ['garbage collection', (frame) => frame.functionName === '(garbage collector)'],
  ['receipt (Ed25519 JWS)', file(/src\/receipts\//)],
  [
    'S3 write (quick-put: headers, SigV4, request, answer)',
    file(
      /src\/storage\/drivers\/s3\/(quick-put|sigv4|bucket-endpoint|single-put|stored-etag|create-only)\.ts|node:_http_client|node:_http_agent/,
    ),
  ],
  ['SHA-256 meter', file(/src\/storage\/meter\.ts/)],
  ['sniff (file-type)', file(/node_modules\/(file-type|strtok3|token-types|@tokenizer|uint8array-extras)\//)],
  [
    'access log (pino)',
    file(
      /node_modules\/(pino|@pinojs|fast-redact|sonic-boom|pino-std-serializers)\/|src\/http\/access-log\.ts|src\/logger\.ts/,
    ),
  ],
  ['authentication', file(/src\/auth\/|src\/http\/access\.ts/)],
  ['admission', file(/src\/http\/admission\.ts|src\/storage\/part-pool\.ts/)],
  ['metrics', file(/node_modules\/prom-client\/|src\/metrics\.ts|src\/http\/metrics\.ts/)],
  ['response serialisation (zod)', named(/serializ|stringify|parse|safeParse/i, /fastify-type-provider-zod/)],
  ['request validation (zod)', file(/node_modules\/(fastify-type-provider-zod|zod)\//)],
  ['multipart parsing (busboy)', file(/node_modules\/@fastify\/(multipart|busboy)\//)],
  [
    'intake (peek, key, metadata, body into the part buffer)',
    file(
      /src\/storage\/|src\/http\/routes\/|src\/http\/(put-conditions|request-body|receipt-for|absolute-url|multipart-errors)\.ts/,
    ),
  ],
  ['fastify (routing, hooks, reply)', file(/node_modules\/(fastify|find-my-way|avvio|@fastify\/[a-z-]+)\//)],
  ['other Stowage code (hooks: CORS, browser guard, request id…)', file(/src\//)],
  [
    'HTTP server (Node: parser, request, response, socket)',
    file(/node:_http_|node:net|node:internal\/(http|net|stream_base)/),
  ],
  ['streams, promises, timers (Node internals)', file(/^node:/)],
];

export function splitByStage(profile: CpuProfile, cpuMsPerUpload: number): Record<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    const frames: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node) frames.push(node.callFrame);
    }
    const leaf = frames[0]?.functionName ?? '';
    let stage =
      leaf === '(idle)' ? 'idle' : leaf === '(program)' ? 'native, outside JS (program)' : 'unattributed';
    for (const [name, matches] of RULES) {
      if (frames.some(matches)) {
        stage = name;
        break;
      }
    }
    stageOf.set(id, stage);
    return stage;
  };
  const time = new Map<string, number>();
  const samples = profile.samples ?? [];
  samples.forEach((id, index) => {
    const stage = classify(id);
    time.set(stage, (time.get(stage) ?? 0) + (profile.timeDeltas?.[index] ?? 0));
  });
  time.delete('idle');
  const busy = [...time.values()].reduce((sum, us) => sum + us, 0);
  const split: Record<string, number> = {};
  for (const [stage, us] of [...time].sort((a, b) => b[1] - a[1])) {
    split[stage] = Number(((us / busy) * cpuMsPerUpload * 1000).toFixed(1));
  }
  return split;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, perUpload] = process.argv.slice(2);
  if (!path || !perUpload)
    throw new Error('usage: node bench/probes/stages.ts <file.cpuprofile> <CPU ms per upload>');
  const split = splitByStage(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, Number(perUpload));
  for (const [stage, us] of Object.entries(split)) console.log(`${String(us).padStart(7)} µs  ${stage}`);
}
