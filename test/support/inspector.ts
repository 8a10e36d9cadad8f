/**
 * A minimal Chrome DevTools Protocol client for a Node process started with --inspect: enough to
 * force a full garbage collection and read the process's own memory figures. Memory measured without
 * it says as much about when V8 last collected as about what the process holds.
 */
export interface Inspector {
  /** A full, compacting collection (what a heap snapshot does first). */
  collectGarbage(): Promise<void>;
  /** process.memoryUsage() inside the inspected process. */
  memoryUsage(): Promise<NodeJS.MemoryUsage>;
  close(): void;
}

interface Reply {
  id: number;
  result?: { result?: { value?: unknown } };
  error?: { message: string };
}

export async function connectInspector(webSocketUrl: string): Promise<Inspector> {
  const socket = new WebSocket(webSocketUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', reject, { once: true });
  });
  const pending = new Map<number, (reply: Reply) => void>();
  socket.addEventListener('message', (event) => {
    const reply = JSON.parse(String(event.data)) as Reply;
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  let lastId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = ++lastId;
      pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error.message)) : resolve(reply)));
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async collectGarbage() {
      await call('HeapProfiler.collectGarbage');
    },
    async memoryUsage() {
      const reply = await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      return JSON.parse(String(reply.result?.result?.value)) as NodeJS.MemoryUsage;
    },
    close: () => socket.close(),
  };
}
