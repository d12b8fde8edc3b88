# syntax=docker/dockerfile:1
# One image for the API, the worker, the migrations and the CLIs (see docs/deployment.md):
#   API (default)   node --enable-source-maps dist/src/server.js
#   worker          node --enable-source-maps dist/src/worker.js
#   migrations      node dist/src/cli/migrate.js
#   create a user   node dist/src/cli/user-create.js --username … --role …
#   retention once  node dist/src/cli/retention.js
# tests/deploy/image-build.test.ts runs these stages as a script and starts the result.
# The base image, pinned by digest (the tag says which Node.js it holds; the digest is what is
# pulled). Bump both together: `docker buildx imagetools inspect node:24-bookworm-slim` prints
# the current digest, or let Dependabot (.github/dependabot.yml) open the pull request. .ci/run
# runs the tests on this same Node.js version (IMAGE_NODE). docs/deployment.md#the-image
ARG NODE_IMAGE=node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# ---- every dependency, with patches/ applied (see patches/README.md) --------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npx patch-package --error-on-fail

# ---- build: compile TypeScript to dist/ ------------------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY db ./db
RUN npm run build

# ---- the production dependencies only (patched; patch-package and the tools removed) ---------
# PGlite, the embedded database of the quick start, goes too: production runs on Postgres
# (DATABASE_URL is required there) and the code loads PGlite only without one.
FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force \
  && rm -rf node_modules/@electric-sql

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# CD passes the version and the commit (docker build --build-arg VERSION=… --build-arg REVISION=…).
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="citizen-affiliation" \
      org.opencontainers.image.description="Connectivity service of a Carpeta Ciudadana operator: GovCarpeta, its peers, events" \
      org.opencontainers.image.source="https://github.com/carpeta-ciudadana/citizen-affiliation" \
      org.opencontainers.image.documentation="https://github.com/carpeta-ciudadana/citizen-affiliation/blob/main/docs/deployment.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# tini forwards signals to node and reaps zombies (PID 1 does neither by default). npm, npx and
# corepack are removed: nothing runs them in the container (every command is `node dist/…`), and
# they are the image's largest source of scanner findings.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn \
    /usr/local/bin/yarnpkg /opt/yarn-*
# PORT is left unset: the API listens on 8000 and the worker on 8001, each by default.
ENV NODE_ENV=production \
    HOST=0.0.0.0
# V8's heap settings for the pods' 384Mi limit: a capped old generation (else V8 lets garbage
# pile up to hundreds of MiB on a big node) and a 16 MiB semi-space (Node 24 sizes the young
# generation from the cap, so small that it collects all the time). npm run bench runs the
# service with this same line; the measurements are in docs/performance.md ("Node 24").
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=16"
# glibc's allocator keeps an arena per thread that allocates (the main thread, libuv's pool, V8's
# helpers), each holding freed memory of its own: two arenas take 10-20 MiB off the peak RSS with
# no measurable cost in CPU (docs/performance.md, "Memory judged by the pod").
ENV MALLOC_ARENA_MAX="2"
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
