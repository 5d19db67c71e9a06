# Kestrel service image. `npm run docker:build` builds it with docker or podman; `npm run docker:smoke`
# builds, runs and probes it. Where no image registry answers, scripts/container/base-image.sh builds
# the FROM image locally (docs/deploy.md).
#
# Node 22 LTS, the version package.json's engines and CI use.
#
# The backend is wasm, on purpose: kestrel's own kernels and fused ops are wasm kernels, and wasm is what
# the test suite runs on. The optional native @tensorflow/tfjs-node is left out of the image (it would
# download libtensorflow at install time, and no test runs on it); KESTREL_BACKEND=wasm makes a missing
# wasm backend fail start-up instead of falling back to the slow cpu one.

# Build stage: compile TypeScript with the full dependency set, then cut node_modules down to what
# the server loads.
FROM docker.io/library/node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped: prepare would build before the sources are copied, and tfjs-node's install
# script is the libtensorflow download this image does without.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/tfjs-registrations.mjs ./scripts/
COPY src ./src
RUN npm run build
# Production dependencies without tfjs-node. `--omit=optional` is not the way: sharp's prebuilt libvips
# comes as optional dependencies. The tfjs packages ship each build several times over (browser bundles,
# ES modules, source maps, typings); Node loads only the CommonJS `*.node.js` bundle and the wasm
# binaries, so the rest goes.
RUN npm pkg delete optionalDependencies \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules/@tensorflow/*/dist -type f ! -name '*.node.js' ! -name '*.wasm' -delete \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete \
 && find node_modules -depth -type d -empty -delete

FROM docker.io/library/node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 KESTREL_BACKEND=wasm
WORKDIR /app
COPY package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY models ./models
COPY public ./public
USER node
EXPOSE 8080
# Kept only in docker-format images (podman and buildah drop it from OCI ones; docker:build asks for docker format).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server/server.js"]
