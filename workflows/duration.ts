/** Re-export of the one duration grammar (lib/duration.ts) for workflow modules that import it from here. */
export { DURATION_PATTERN, msOf } from '../lib/duration';
