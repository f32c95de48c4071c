/**
 * Drill report renderings: Markdown (report.md), Slack mrkdwn (the message), and the timeline
 * chart as SVG rendered to PNG with resvg (its platform binary comes from npm; the font is
 * DejaVu Sans from the dejavu-fonts-ttf package, so no system fonts are needed).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { fmtSeconds, type DrillFacts, type EngineShare, type ErrorsDuringWindow, type Phase, type TimelineEvent, type Verdict } from './report-compute';

/** The report: the computed facts plus what identifies the drill, the engine share, files and Slack. */
export interface DrillReport extends DrillFacts {
  id: string;
  runId: string | null;
  drill: string;
  target: string;
  clusters: string[];
  fault: Record<string, unknown>;
  safe: boolean;
  skipped: string | null;
  objectiveRtoMs: number;
  steps: Record<string, { state: string; error?: string } | null>;
  engine: EngineShare | null;
  engineNote?: string;
  files: { json: string; markdown: string; png: string };
  /** In the returned report (run history): window errors left out of the timeline (report.json has them all). */
  windowErrorsOmitted?: number;
  slack: { posted: boolean; channel?: string; ts?: string; file?: string; reason?: string };
  generatedAt: string;
}

const VERDICT_TEXT: Record<Verdict, string> = { pass: 'PASS', fail: 'FAIL', skipped: 'SKIPPED' };
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const yesNo = (b: boolean) => (b ? 'yes' : 'no');
/** Reports written before failback was reported have no `failedBack`. */
const failedBackText = (r: DrillReport) => (r.failedBack === undefined || r.failedBack === null ? 'not needed' : yesNo(r.failedBack));
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function rtoLine(r: DrillReport): string {
  if (r.rtoMs === null) return `never (objective ${fmtSeconds(r.objectiveRtoMs)})`;
  return `${fmtSeconds(r.rtoMs)} (objective ${fmtSeconds(r.objectiveRtoMs)}, ${r.rtoMs <= r.objectiveRtoMs ? 'met' : 'missed'})`;
}

export function errorsLine(e: ErrorsDuringWindow | null): string {
  return e ? `${e.count} of ${e.checks} checks (${pct(e.rate)})` : '—';
}

export function engineLine(e: EngineShare | null, note?: string): string {
  if (!e) return note ? `— (${note})` : '—';
  return `${pct(e.share)} (engine ${fmtSeconds(e.engineMs)}, activities ${fmtSeconds(e.activityMs)}, timers ${fmtSeconds(e.waitingMs)} of ${fmtSeconds(e.windowMs)})`;
}

/** Consecutive window errors collapse into one row, so a long outage stays readable. */
function collapsedTimeline(tl: readonly TimelineEvent[]): { t: string; at: string; event: string; detail: string }[] {
  const rows: { t: string; at: string; event: string; detail: string }[] = [];
  for (let n = 0; n < tl.length; n++) {
    const e = tl[n];
    let m = n;
    while (e.phase === 'window-error' && tl[m + 1]?.phase === 'window-error') m++;
    if (m > n) {
      rows.push({ t: `${(e.t / 1000).toFixed(2)}…${(tl[m].t / 1000).toFixed(2)}`, at: e.at, event: `errors ×${m - n + 1}`, detail: e.detail });
      n = m;
    } else rows.push({ t: (e.t / 1000).toFixed(2), at: e.at, event: e.event, detail: e.detail });
  }
  return rows;
}

export function renderMarkdown(r: DrillReport): string {
  const L: string[] = [];
  L.push(`# DR drill report: ${r.drill} — ${VERDICT_TEXT[r.verdict]}`, '');
  L.push('| | |', '|---|---|');
  const row = (k: string, v: string) => L.push(`| ${k} | ${cell(v)} |`);
  row('Run', `\`${r.id}\``);
  row('Target', r.target);
  row('Clusters', r.clusters.join(', '));
  row('Verdict', `**${VERDICT_TEXT[r.verdict]}**`);
  if (r.skipped) row('Skipped because', r.skipped);
  row('RTO (fault injected → traffic shifted)', rtoLine(r));
  row('Detection (fault injected → probe saw it down)', fmtSeconds(r.detectionMs));
  row('Failover (detection → traffic shifted)', fmtSeconds(r.failoverMs));
  row('Errors during window', errorsLine(r.errorsDuringWindow));
  row('Fault restored', yesNo(r.restored));
  row('Failed back', failedBackText(r));
  row('Steady state after', yesNo(r.steadyAfter));
  row('Engine share of RTO', engineLine(r.engine, r.engineNote));
  row('Safe mode', yesNo(r.safe));
  L.push('');
  if (r.reasons.length) {
    L.push('## Reasons', '');
    for (const x of r.reasons) L.push(`- ${x}`);
    L.push('');
  }
  L.push('## Fault', '', '```json', JSON.stringify(r.fault, null, 2), '```', '');
  L.push('## Steps', '', '| step | state | error |', '|---|---|---|');
  for (const [k, v] of Object.entries(r.steps)) L.push(`| ${k} | ${v?.state ?? 'not run'} | ${cell(v?.error ?? '')} |`);
  L.push('');
  L.push('## Timeline', '', '| t (s) | at | event | detail |', '|---:|---|---|---|');
  for (const e of collapsedTimeline(r.timeline)) L.push(`| ${e.t} | ${e.at} | ${cell(e.event)} | ${cell(e.detail)} |`);
  if (r.windowErrorsOmitted) L.push('', `${r.windowErrorsOmitted} window errors are not listed (runs of one error show as their first, ×n); ${r.files.json} has all of them.`);
  L.push('', '![timeline](timeline.png)', '');
  return L.join('\n');
}

/** The Slack message: Slack's mrkdwn has no tables, so the summary is bullets and a code block. */
export function renderSlack(r: DrillReport, maxRows = 20): string {
  const icon = { pass: ':white_check_mark:', fail: ':x:', skipped: ':fast_forward:' }[r.verdict];
  const L = [`${icon} *DR drill ${r.drill}: ${VERDICT_TEXT[r.verdict]}* (run \`${r.id}\`)`];
  L.push(`• Target: *${r.target}* (clusters ${r.clusters.join(', ')})`);
  if (r.skipped) L.push(`• Skipped because: ${r.skipped}`);
  L.push(`• RTO: *${rtoLine(r)}*`);
  L.push(`• Detection: ${fmtSeconds(r.detectionMs)} · failover: ${fmtSeconds(r.failoverMs)}`);
  L.push(`• Errors during window: ${errorsLine(r.errorsDuringWindow)}`);
  L.push(`• Fault restored: ${yesNo(r.restored)} · failed back: ${failedBackText(r)} · steady state after: ${yesNo(r.steadyAfter)}`);
  L.push(`• Engine share of RTO: ${engineLine(r.engine, r.engineNote)}`);
  if (r.reasons.length) L.push('*Reasons*', ...r.reasons.map((x) => `• ${x}`));
  const rows = collapsedTimeline(r.timeline);
  if (rows.length) {
    const shown = rows.slice(0, maxRows).map((e) => `${e.t.padStart(8)}s  ${e.event}${e.detail ? ` — ${e.detail}` : ''}`);
    if (rows.length > maxRows) shown.push(`… ${rows.length - maxRows} more in ${r.files.markdown}`);
    L.push('```', ...shown, '```');
  }
  return L.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The timeline chart

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const LANES: { key: string; label: string; phases: Phase[] }[] = [
  { key: 'steady-before', label: 'steady state', phases: ['steady-before', 'guard', 'approval'] },
  { key: 'fault', label: 'fault', phases: ['inject'] },
  { key: 'detect', label: 'detection', phases: ['detect'] },
  { key: 'failover', label: 'failover / shift', phases: ['failover', 'shift'] },
  { key: 'window', label: 'window probe', phases: ['window', 'window-error'] },
  { key: 'restore', label: 'restore / failback', phases: ['restore', 'failback'] },
  { key: 'steady-after', label: 'steady after', phases: ['steady-after'] },
];

function niceStep(span: number, ticks = 8): number {
  const raw = span / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** The timeline as SVG: one lane per phase, x in seconds since the fault was injected. */
export function renderSvg(r: DrillReport): string {
  const W = 1000;
  const left = 150;
  const right = 30;
  const top = 64;
  const laneH = 38;
  const H = top + LANES.length * laneH + 56;
  const tl = r.timeline;
  const ts = tl.map((e) => e.t);
  const lo = Math.min(0, ...ts);
  const hi = Math.max(r.objectiveRtoMs, r.rtoMs ?? 0, ...ts, 1);
  const pad = (hi - lo) * 0.04;
  const x0 = lo - pad;
  const x1 = hi + pad;
  const x = (t: number) => left + ((t - x0) / (x1 - x0)) * (W - left - right);
  const laneY = (key: string) => top + LANES.findIndex((l) => l.key === key) * laneH + laneH / 2;
  const first = (p: Phase, ev?: string) => tl.find((e) => e.phase === p && (!ev || e.event === ev));
  const last = (p: Phase) => [...tl].reverse().find((e) => e.phase === p);
  const color = { pass: '#1a7f37', fail: '#cf222e', skipped: '#6e7781' }[r.verdict];
  const S: string[] = [];
  S.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans" font-size="13">`);
  S.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  S.push(`<text x="16" y="28" font-size="18" font-weight="bold" fill="#1f2328">${esc(`DR drill ${r.drill} — ${r.target}`)}</text>`);
  S.push(`<text x="${W - right}" y="28" font-size="18" font-weight="bold" text-anchor="end" fill="${color}">${VERDICT_TEXT[r.verdict]}</text>`);
  S.push(`<text x="16" y="48" fill="#57606a">${esc(`RTO ${rtoLine(r)} · detection ${fmtSeconds(r.detectionMs)} · errors ${errorsLine(r.errorsDuringWindow)}`)}</text>`);
  // Lanes and grid.
  LANES.forEach((l, n) => {
    const y = top + n * laneH;
    if (n % 2 === 0) S.push(`<rect x="${left}" y="${y}" width="${W - left - right}" height="${laneH}" fill="#f6f8fa"/>`);
    S.push(`<text x="${left - 10}" y="${y + laneH / 2 + 4}" text-anchor="end" fill="#1f2328">${l.label}</text>`);
  });
  const step = niceStep((x1 - x0) / 1000) * 1000;
  const axisY = top + LANES.length * laneH;
  for (let t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
    S.push(`<line x1="${x(t)}" y1="${top}" x2="${x(t)}" y2="${axisY}" stroke="#d0d7de" stroke-width="1"/>`);
    S.push(`<text x="${x(t)}" y="${axisY + 16}" text-anchor="middle" fill="#57606a" font-size="11">${+(t / 1000).toFixed(3)}</text>`);
  }
  S.push(`<line x1="${left}" y1="${axisY}" x2="${W - right}" y2="${axisY}" stroke="#57606a"/>`);
  S.push(`<text x="${(left + W - right) / 2}" y="${axisY + 36}" text-anchor="middle" fill="#57606a">seconds since fault injection</text>`);
  const bar = (key: string, a: number, b: number, fill: string, label?: string) => {
    const y = laneY(key);
    S.push(`<rect x="${x(a)}" y="${y - 9}" width="${Math.max(2, x(b) - x(a))}" height="18" rx="3" fill="${fill}" fill-opacity="0.85"/>`);
    if (label) S.push(`<text x="${Math.min(x(b) + 6, W - right - 4)}" y="${y + 4}" fill="#1f2328" font-size="11" text-anchor="${x(b) + 80 > W - right ? 'end' : 'start'}">${esc(label)}</text>`);
  };
  const dot = (key: string, t: number, fill: string, label?: string) => {
    const y = laneY(key);
    S.push(`<circle cx="${x(t)}" cy="${y}" r="6" fill="${fill}"/>`);
    if (label) S.push(`<text x="${x(t) + 10}" y="${y + 4}" fill="#1f2328" font-size="11">${esc(label)}</text>`);
  };
  const okColor = (d: string) => (d === 'ok' || d === 'allowed' || d === 'approved' ? '#1a7f37' : '#cf222e');
  for (const e of tl.filter((e) => ['steady-before', 'guard', 'approval'].includes(e.phase))) dot('steady-before', e.t, okColor(e.detail));
  const restoreT = first('restore')?.t;
  if (first('inject')) bar('fault', 0, restoreT ?? Math.max(hi, 0), '#fb8f44', restoreT === undefined ? 'fault still active' : `restored at ${fmtSeconds(restoreT)}`);
  const det = first('detect', 'target detected down');
  const detStart = first('detect', 'detection probe started');
  if (det) bar('detect', Math.max(0, detStart?.t ?? 0), det.t, '#0969da', `down at ${fmtSeconds(det.t)}`);
  else if (detStart) dot('detect', detStart.t, '#0969da', 'never detected down');
  const shift = first('shift');
  for (const e of tl.filter((e) => e.phase === 'failover')) dot('failover', e.t, '#8250df');
  if (shift) bar('failover', det?.t ?? 0, shift.t, '#8250df', `shifted at ${fmtSeconds(shift.t)}`);
  const wStart = first('window');
  const wEnd = last('window');
  if (wStart && wEnd) bar('window', wStart.t, wEnd.t, '#afb8c1', errorsLine(r.errorsDuringWindow));
  for (const e of tl.filter((e) => e.phase === 'window-error')) {
    const y = laneY('window');
    S.push(`<rect x="${x(e.t) - 1.5}" y="${y - 13}" width="3" height="26" fill="#cf222e"/>`);
  }
  if (restoreT !== undefined) dot('restore', restoreT, okColor(first('restore')!.detail));
  const back = first('failback');
  if (back) dot('restore', back.t, okColor(back.detail), 'failed back');
  for (const e of tl.filter((e) => e.phase === 'steady-after')) dot('steady-after', e.t, okColor(e.detail), e.detail === 'ok' ? undefined : e.detail.slice(0, 60));
  // Objective and actual RTO.
  const ox = x(r.objectiveRtoMs);
  S.push(`<line x1="${ox}" y1="${top - 6}" x2="${ox}" y2="${axisY}" stroke="#cf222e" stroke-width="2" stroke-dasharray="6 4"/>`);
  S.push(`<text x="${ox}" y="${top - 10}" text-anchor="middle" fill="#cf222e" font-size="11">objective ${fmtSeconds(r.objectiveRtoMs)}</text>`);
  if (r.rtoMs !== null) {
    const rx = x(r.rtoMs);
    S.push(`<line x1="${rx}" y1="${top}" x2="${rx}" y2="${axisY}" stroke="${color}" stroke-width="2"/>`);
  }
  S.push(`<line x1="${x(0)}" y1="${top}" x2="${x(0)}" y2="${axisY}" stroke="#fb8f44" stroke-width="2"/>`);
  S.push('</svg>');
  return S.join('\n');
}

let fontFiles: string[] | undefined;
function bundledFonts(): string[] {
  if (!fontFiles) {
    try {
      const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
      fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => join(dir, f)).filter((f) => existsSync(f));
    } catch {
      fontFiles = [];
    }
  }
  return fontFiles;
}

/** SVG → PNG. Uses the bundled DejaVu Sans; falls back to system fonts if the package is missing. */
export function svgToPng(svg: string): Buffer {
  const files = bundledFonts();
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    font: { fontFiles: files, loadSystemFonts: files.length === 0, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
