import { adminStateAction } from './haproxy-common';

export default adminStateAction('ready', 'HAProxy: return a server to service (clears drain and maintenance set through the runtime API). Idempotent.');
