import type { TcpProxy } from './tcp-proxy.ts';

// Faults timed by what an HTTP client sends through a TcpProxy (tcp-proxy.ts), rather than by the
// clock: the moment a given request is on the wire, however fast or slow this machine is.

/**
 * Stalls the proxy once its client sends a PATCH at `offset` (its headers pass, its body is held):
 * an upload caught mid-request, however fast this machine is.
 */
export function stallAtPatch(proxy: TcpProxy, offset: number): Promise<void> {
  const patch = new RegExp(`PATCH [^\\r\\n]*\\r\\n(?:[^\\r\\n]+\\r\\n)*?upload-offset: ${offset}\\r\\n`, 'i');
  return new Promise((resolve) => {
    const stop = proxy.watchUp((data) => {
      if (!patch.test(data.toString('latin1'))) return;
      stop();
      void proxy.setMode('stall'); // takes effect at once, before the rest of the body
      resolve();
    });
  });
}

/**
 * Resets every connection through the proxy once `bytes` of one PATCH request went up — the network drops —
 * and answers how many bytes of that request had gone up by then.
 */
export function cutPatchAfter(proxy: TcpProxy, bytes: number): Promise<number> {
  let patching: number | undefined;
  let sent = 0;
  let cutting = false;
  return new Promise((resolve) => {
    const stop = proxy.watchUp((data, connection) => {
      if (patching === undefined && data.toString('latin1', 0, 16).startsWith('PATCH '))
        patching = connection;
      if (connection !== patching) return;
      sent += data.length;
      if (sent < bytes || cutting) return;
      cutting = true;
      // Not from inside the proxy's forwarding of this very chunk.
      setImmediate(async () => {
        await proxy.setMode('reset');
        stop();
        await proxy.setMode('pass');
        resolve(sent);
      });
    });
  });
}
