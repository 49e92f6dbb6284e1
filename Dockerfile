# syntax=docker/dockerfile:1
# The hostfactory-k8s image: the sidecar is its entrypoint; the client and HostFactory's scripts
# are in /app too, for a HostFactory image to copy (docs/deployment.md). Node.js runs the
# TypeScript sources as they are, so there is nothing to build: the first stage installs the
# production dependencies, the second puts them beside the sources.
#
# Debian (glibc) rather than Alpine (musl): HostFactory images are glibc systems, and the node
# binary of this image can then be copied into them.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
# Nothing at run time needs npm, npx, corepack or yarn: fewer programs, fewer advisories.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
    /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
# The live heap is about 50 MB at 10,000 machines; without these V8 keeps the pages a burst grew
# the heap to (RSS 434 MB there; 195 MB with them, per npm run bench).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=256"
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY proto ./proto
COPY sidecar ./sidecar
COPY templates ./templates
COPY client ./client
COPY scripts ./scripts
COPY examples ./examples
# The base image's unprivileged user, by number so that Kubernetes' runAsNonRoot can check it.
# The files stay root's: the process cannot change its own code.
USER 1000:1000
ENTRYPOINT ["node", "sidecar/main.ts"]
