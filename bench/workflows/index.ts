/** Workflow entry point for the benchmark worker: the interpreter workflows plus the hand-written baseline. */
export { runbook, runbookForeachChunk } from '../../workflows/interpreter';
export { handwrittenNoops, localActivityNoops } from './handwritten';
