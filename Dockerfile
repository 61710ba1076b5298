# Tandem server (with the demo at /). Build: docker build -t tandem .
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source where no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
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
