# Runwright worker image: polls the Runwright task queue and runs runbook workflows/activities.
# Connection settings come from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
# RUNWRIGHT_TASK_QUEUE, ...); see docker-compose.yml.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first so source edits don't invalidate the npm ci layer.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:24-bookworm-slim
# ca-certificates: TLS to Temporal Cloud / remote hosts from the worker's native (Rust) core.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The console's pages (served as they are) and the shipped runbooks (its catalog).
COPY console ./console
COPY runbooks ./runbooks
USER node
CMD ["node", "dist/workers/main.js"]
