/**
 * `runwright drill report ID`: print a DR drill's report. The report is the result of the run's
 * `drill.report` step, read from the run's history (so it works for failed runs and with no
 * worker), else from the reports folder the worker wrote (report.json).
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultReportsDir, reportPaths } from '../activities/drill/report-files';
import { reportFromFolder, reportFromRun, ReportFileError } from '../client/drill-report';
import type { DrillReport } from '../activities/drill/report-render';
import { out, err, withSession } from './common';
import { CliError, EXIT } from './session';

type Report = DrillReport;
/** Loaded when used: it brings the native SVG renderer. */
const render = () => require('../activities/drill/report-render') as typeof import('../activities/drill/report-render');

interface Found {
  report: Report;
  from: string;
}

async function fromHistory(id: string): Promise<{ found?: Found; known: boolean; unreachable?: CliError }> {
  try {
    return await withSession({}, (s) => reportFromRun(s.client, id));
  } catch (e) {
    if (e instanceof CliError && e.exitCode === EXIT.unreachable) return { known: false, unreachable: e };
    throw e;
  }
}

function fromFolder(dir: string, id: string): Found | undefined {
  try {
    return reportFromFolder(dir, id);
  } catch (e) {
    if (e instanceof ReportFileError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
}

export function registerDrillCommands(program: Command): void {
  const drill = program.command('drill').description('DR drills: reports of past drill runs');
  drill
    .command('report')
    .argument('<id>', 'workflow id of the drill run')
    .option('--json', 'print the report as JSON')
    .option('--markdown', 'print the report as Markdown (the default)')
    .option('--open-png <path>', 'copy the timeline chart (PNG) to this path')
    .option('--reports-dir <dir>', 'where drill reports are written (default RUNWRIGHT_REPORTS_DIR or ./.runwright/reports)')
    .description("print a drill run's report (from the run's history, else from the reports folder)")
    .action(async (id: string, o: { json?: boolean; markdown?: boolean; openPng?: string; reportsDir?: string }) => {
      if (o.json && o.markdown) throw new CliError('choose one of --json and --markdown', EXIT.usage);
      const dir = o.reportsDir ? resolve(o.reportsDir) : defaultReportsDir();
      const paths = reportPaths(dir, id);
      const h = await fromHistory(id);
      const found = h.found ?? fromFolder(dir, id);
      if (!found) {
        if (h.unreachable) throw new CliError(`${h.unreachable.message}\n(no report for "${id}" in ${dir} either)`, EXIT.unreachable);
        const what = h.known ? `run "${id}" has no drill report (no completed drill.report step)` : `no run with id "${id}"`;
        throw new CliError(`${what}, and no report in ${paths.dir}`, EXIT.usage);
      }
      const { renderMarkdown, renderSvg, svgToPng } = render();
      if (o.json) out(JSON.stringify(found.report, null, 2));
      else out(renderMarkdown(found.report));
      if (o.openPng) {
        const dest = resolve(o.openPng);
        const png = [found.report.files?.png, paths.png].find((p): p is string => !!p && existsSync(p));
        if (png) copyFileSync(png, dest);
        else {
          // The worker's folder is not here: draw the chart again from the report.
          writeFileSync(dest, svgToPng(renderSvg(found.report)));
        }
        err(`timeline chart written to ${dest}`);
      }
    });
}
