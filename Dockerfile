# Stowage runs from its TypeScript sources with Node's type stripping, exactly as `npm start` does:
# no build step, so the image holds the same files the tests ran. Build: docker build -t stowage .
ARG NODE_IMAGE=node:24-slim

# Production dependencies only. None of them has an install script; --ignore-scripts keeps it that way.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# npm and corepack are not used at run time: less to ship and to patch.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && mkdir -p /app/data && chown node:node /app/data
WORKDIR /app
# Config comes from a file (mount your own over /app/stowage.yaml and point STOWAGE_CONFIG at it) and
# the environment it reads (${VAR}); HOST/PORT override the file. Secrets only ever in the environment.
ENV NODE_ENV=production \
    STOWAGE_CONFIG=/app/stowage.example.yaml \
    HOST=0.0.0.0 \
    PORT=8080
# Code and dependencies belong to root and are read-only for the process; only /app/data (the local
# driver's default root) is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json stowage.example.yaml ./
COPY src ./src
USER node
EXPOSE 8080
# Liveness only: readiness (/readyz, every storage reachable) is for the load balancer. No curl in
# slim images; Node's fetch does it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself (no shell, no npm in between). It stops
# taking uploads, lets running ones finish for server.shutdownGrace (25s), aborts the rest, exits 0:
# give the container at least 30s to stop (docker stop -t 30, compose stop_grace_period,
# Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to 16–32 MiB per semi-space under
# upload load and stays there; at 2 it holds ≈ 60 MiB less at 64 concurrent uploads, idle and peak,
# at no CPU cost (bench/README.md, issue 13). package.json's `start` carries the same flags.
CMD ["node", "--max-semi-space-size=2", "--experimental-strip-types", "--disable-warning=ExperimentalWarning", "src/server.ts"]
