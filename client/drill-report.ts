/**
 * Finding a drill run's report: the result of its `drill.report` step in the run's history (or a
 * child's), so it works for failed runs and with no worker; else the reports folder the worker
 * wrote (report.json). Shared by `runwright drill report` and the console's API.
 */
import { existsSync, readFileSync } from 'node:fs';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reportPaths } from '../activities/drill/report-files';
import { fetchRunTree, reportFromHistory } from '../activities/drill/report-history';
import type { DrillReport } from '../activities/drill/report-render';

export interface FoundReport {
  report: DrillReport;
  from: string;
}

/** known: whether the run exists on the server. */
export async function reportFromRun(client: Client, id: string): Promise<{ found?: FoundReport; known: boolean }> {
  let runs;
  try {
    runs = await fetchRunTree(client, id);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError || /not found/i.test(String((e as Error)?.message))) return { known: false };
    throw e;
  }
  for (const r of runs) {
    const report = reportFromHistory(r.events);
    if (report && typeof report === 'object') return { known: true, found: { report: report as DrillReport, from: `history of ${r.workflowId}` } };
  }
  return { known: true };
}

export class ReportFileError extends Error {
  name = 'ReportFileError';
}

/** The report.json the worker wrote into `dir` for run `id`, if there is one. */
export function reportFromFolder(dir: string, id: string): FoundReport | undefined {
  const paths = reportPaths(dir, id);
  if (!existsSync(paths.json)) return undefined;
  try {
    return { report: JSON.parse(readFileSync(paths.json, 'utf8')) as DrillReport, from: paths.json };
  } catch (e) {
    throw new ReportFileError(`${paths.json}: not a readable report (${(e as Error).message}); reports folder ${dir}, run ${id}`);
  }
}
