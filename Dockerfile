# syntax=docker/dockerfile:1
# One image for both roles: `modelroute operator` and `modelroute sidecar` (the chart picks by args).

FROM node:20.20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script, and none should run in the build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY core core
COPY operator operator
COPY sidecar sidecar
COPY local local
COPY telemetry telemetry
COPY cli cli
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20.20-slim AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=build --chown=0:0 /src/package.json ./
COPY --from=build --chown=0:0 /src/node_modules node_modules
COPY --from=build --chown=0:0 /src/dist dist
# Numeric, so the kubelet can verify runAsNonRoot; the files stay root-owned and read-only to it.
USER 65532:65532
# 15500: sidecar API (loopback only), 15501: sidecar admin, 15600: operator admin, 9443: webhook.
EXPOSE 15501 15600 9443
ENTRYPOINT ["node", "dist/cli/main.js"]
