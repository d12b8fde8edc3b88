# syntax=docker/dockerfile:1
# One image for the API, the worker, the migrations and the user CLI (see docs/deployment.md):
#   API (default)   node --enable-source-maps dist/src/server.js
#   worker          node --enable-source-maps dist/src/worker.js
#   migrations      node dist/src/cli/migrate.js
#   create a user   node dist/src/cli/user-create.js --username … --role …
#   retention once  node dist/src/cli/retention.js
# The build and start commands are the package.json scripts the tests run (a test checks it).
ARG NODE_VERSION=24

# ---- dependencies used at run time only ------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# patches/: fixes to dependencies carried until upstream releases them (see patches/README.md).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npx patch-package --error-on-fail \
  && npm cache clean --force

# ---- build: compile TypeScript to dist/ ------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY db ./db
RUN npm run build

# ---- runtime ---------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# tini forwards signals to node and reaps zombies (PID 1 does neither by default).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKER_PORT=8001
# Cap V8's old generation: on a big node V8 lets garbage pile up to hundreds of MiB before a full
# collection. With 128 MiB the API stays near 150-180 MiB RSS under load (the live heap is ~35 MiB),
# inside the pods' 384Mi limit with room for two 32 MiB password hashes. Node 24 sizes the young
# generation from that cap, and so small that it collects all the time (half the req/s, more RSS):
# the semi-space is set back to 16 MiB. npm run bench runs the service with this same line
# (docs/performance.md).
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=16"
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root migrations ./migrations
# Nothing is written under /app: the root filesystem may be read-only. The process runs as the
# image's unprivileged `node` user (uid 1000).
USER node
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/src/cli/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "dist/src/server.js"]
