# syntax=docker/dockerfile:1.7
# Kestrel service image. scripts/docker-smoke.ts replays this file without Docker (npm run docker:smoke),
# so keep to FROM/WORKDIR/ENV/COPY/RUN/USER/EXPOSE/HEALTHCHECK/CMD.

# Node 22 (LTS): Node 20 is past its end of life, and @tensorflow/tfjs-node 4.22 still calls util functions
# that Node 23 removed, so a newer Node would lose the native backend.

# Build stage: compile TypeScript with the full dependency set.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped here: prepare would build before the sources are copied, and tfjs-node's
# native download is only needed at runtime.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, installed here so @tensorflow/tfjs-node fetches its
# native libtensorflow for this image's platform.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# prepare (the TypeScript build) needs dev dependencies; the compiled output comes from the build stage.
RUN --mount=type=cache,target=/root/.npm npm pkg delete scripts.prepare && npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY models ./models
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server/server.js"]
