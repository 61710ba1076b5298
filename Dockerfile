# Tandem server (with the demo at /). Build: docker build -t tandem .
# Node 24 LTS. Nothing compiles at install: SQLite is Node's built-in node:sqlite, so no toolchain.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
ENV TANDEM_HOST=0.0.0.0 \
    TANDEM_PORT=1234 \
    TANDEM_DATA_DIR=/data \
    TANDEM_STATIC_DIR=/app/apps/demo/dist
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 1234
USER node
# SIGTERM drains: writes made durable, peers closed with 1012 (they reconnect elsewhere), exit 0.
STOPSIGNAL SIGTERM
CMD ["node", "packages/server/bin/tandem.mjs", "serve"]
