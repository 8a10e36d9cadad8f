import type { ConfigInput } from './schema.ts';

/**
 * The embedded default: what Stowage runs when no config file is given. The three example storages
 * of stowage.example.yaml, on the local disk driver under ./data, listening on loopback only and
 * open to requests without credentials — a newcomer's first run needs no cloud account and no keys,
 * and nothing is exposed beyond this machine (HOST=0.0.0.0 with this default refuses to start).
 */
export const embeddedDefaultConfig: ConfigInput = {
  server: { host: '127.0.0.1', port: 8080 },
  local: { root: './data' },
  // The page to try uploads in a browser, at http://127.0.0.1:8080/demo/ (README "Try it in a browser").
  demo: { enabled: true },
  // Open to anyone who can reach the port — which, on loopback, is only this machine. A config
  // that binds elsewhere must declare its credentials (or allowAnonymousWrites) explicitly.
  // A frontend's dev server on this machine (http://localhost:5173…) may call it from the browser;
  // CORS_ORIGINS replaces these origins. Pages elsewhere cannot (src/http/browser-guard.ts).
  auth: {
    anonymousGrants: ['*:*'],
    cors: { origins: ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'] },
  },
  storages: {
    media: {
      driver: 'local',
      access: 'public',
      maxFileSize: '20MiB',
      allowedTypes: ['image/*', 'video/*', 'audio/*'],
      cacheControl: 'public, max-age=31536000, immutable',
      contentDisposition: 'inline',
    },
    private: {
      driver: 'local',
      access: 'private',
      maxFileSize: '100MiB',
      contentDisposition: 'attachment',
      presign: { defaultTtl: '15m', maxTtl: '1h' },
    },
    exports: {
      driver: 'local',
      access: 'private',
      prefix: 'exports/',
      maxFileSize: '1GiB',
      maxFiles: 1,
      contentDisposition: 'attachment',
      presign: { defaultTtl: '5m', maxTtl: '15m' },
    },
  },
};
