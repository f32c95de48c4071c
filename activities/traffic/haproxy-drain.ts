import { adminStateAction } from './haproxy-common';

export default adminStateAction(
  'drain',
  'HAProxy: put a server in drain (no new connections or sessions; existing ones finish; health checks go on). Idempotent; optionally waits for sessions to end.',
);
