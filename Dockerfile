# syntax=docker/dockerfile:1
# The API image (infra/api-service.ts runs it on ECS Fargate). Build: docker build -t cruddur-messaging .
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY scripts ./scripts
COPY tools ./tools
RUN npm run build

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing the API loads needs one (they only serve the local-stack emulators).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    APP_ENV=aws \
    PORT=4567
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
# The service only: dist/src (the scripts, the local stack and the seeding tools stay out).
COPY --from=build /app/dist/src ./dist/src
# package.json: "type": "module" makes Node load dist/ as ES modules.
COPY package.json ./
# Files stay root-owned and read-only to the process.
USER node
EXPOSE 4567
# Liveness only (as the load balancer's check): a Postgres or DynamoDB outage must not mark the task unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4567) + '/api/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A release's one-off migration task: node dist/src/migrate.js
# The same Node flags as `npm run start:prod` (a test holds them equal): a heap cap keeps the task's memory
# near its live heap instead of letting V8 grow it lazily (see README, Performance).
CMD ["node", "--enable-source-maps", "--max-old-space-size=256", "--max-semi-space-size=16", "dist/src/main.js"]
