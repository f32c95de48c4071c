import { adminStateAction } from './haproxy-common';

export default adminStateAction(
  'maint',
  'HAProxy: put a server in maintenance (no traffic, health checks stopped; existing connections are not cut). Idempotent; optionally waits for sessions to end.',
);
