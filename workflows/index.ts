/** Workflow entry point for the worker's bundler: only workflow functions are exported here. */
export { runbook, runbookForeachChunk } from './interpreter';
export { runbookPlan } from './plan';
