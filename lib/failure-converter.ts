/**
 * Failure messages and stack traces carry run data (a rejection's reason, an assertion's values),
 * so they are moved into an encoded payload that the payload codec (lib/codec.ts) seals; the
 * history keeps only "Encoded failure". Loaded by path: inside the workflow bundle and by
 * clients and workers (lib/codec.ts dataConverter()). Any Temporal SDK decodes these failures.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
