import { afterAll, beforeAll, inject } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** A TCP proxy in front of the suite's S3 server for the whole file (see tcp-proxy.ts). */
export function useS3Proxy(): TcpProxy {
  let started: TcpProxy | undefined;
  const proxy = (): TcpProxy => {
    if (!started) throw new Error('useS3Proxy: used before its beforeAll ran');
    return started;
  };
  beforeAll(async () => {
    const { hostname, port } = new URL(inject('s3').endpoint);
    started = await startTcpProxy({ host: hostname, port: Number(port) });
  });
  afterAll(async () => {
    await started?.close();
  });
  return {
    get url() {
      return proxy().url;
    },
    get mode() {
      return proxy().mode;
    },
    get accepted() {
      return proxy().accepted;
    },
    setMode: (mode) => proxy().setMode(mode),
    watchUp: (watcher) => proxy().watchUp(watcher),
    close: () => proxy().close(),
  };
}
