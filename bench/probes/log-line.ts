/**
 * CPU per access log line: the shape of a small upload's completion line through the service's
 * pino options (src/logger.ts), written synchronously to /dev/null, 200 000 lines after a warm-up.
 * `redact-none` drops the redaction for scale. Prints µs per line; run it a few times, it moves ±20 %.
 *
 *   node bench/probes/log-line.ts [shipped|redact-none]
 */
import pino from 'pino';
import { loggerOptions } from '../../src/logger.ts';

const variant = process.argv[2] ?? 'shipped';
const options = loggerOptions('info') as pino.LoggerOptions;
if (variant === 'redact-none') delete options.redact;
// Fastify's own res serializer, which the service's options leave in place.
const serializers = {
  ...options.serializers,
  res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
};
const logger = pino({ ...options, serializers }, pino.destination({ dest: '/dev/null', sync: true })).child({
  reqId: 'a1b2c3d4',
});
const req = {
  method: 'PUT',
  url: '/v1/storages/bench/objects/k/abc.bin',
  host: '127.0.0.1:3000',
  ip: '127.0.0.1',
};
const res = { statusCode: 201 };
const line = () => ({
  req,
  res,
  responseTime: 1.234,
  storage: 'bench',
  key: 'k/abc.bin',
  bytes: 10240,
  contentType: 'application/octet-stream',
});

for (let i = 0; i < 20_000; i++) logger.info(line(), 'request completed');
const lines = 200_000;
const start = process.cpuUsage();
for (let i = 0; i < lines; i++) logger.info(line(), 'request completed');
const used = process.cpuUsage(start);
console.log(`${variant}: ${((used.user + used.system) / lines).toFixed(2)} µs per line`);
