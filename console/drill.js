// A DR drill's report (activities/drill/report-render.ts DrillReport) and its timeline chart.
import { useEffect, useState } from 'preact/hooks';
import { html, api, enc, API, ErrorBox, Loading, StateBadge, fmtTime, fmtMs, runHref } from './lib.js';

const pct = (x) => `${(x * 100).toFixed(1)} %`;
const yesNo = (b) => (b ? 'yes' : 'no');
const VERDICT = { pass: 'PASS', fail: 'FAIL', skipped: 'SKIPPED' };

function rtoText(r) {
  if (r.rtoMs === null || r.rtoMs === undefined) return `never (objective ${fmtMs(r.objectiveRtoMs)})`;
  return `${fmtMs(r.rtoMs)} (objective ${fmtMs(r.objectiveRtoMs)}, ${r.rtoMs <= r.objectiveRtoMs ? 'met' : 'missed'})`;
}
const errorsText = (e) => (e ? `${e.count} of ${e.checks} checks (${pct(e.rate)})` : '—');
function engineText(e, note) {
  if (!e) return note ? `— (${note})` : '—';
  return `${pct(e.share)} (engine ${fmtMs(e.engineMs)}, activities ${fmtMs(e.activityMs)}, timers ${fmtMs(e.waitingMs)} of ${fmtMs(e.windowMs)})`;
}

/** Consecutive window errors as one row, as in the Markdown report. */
function collapsed(tl) {
  const rows = [];
  for (let n = 0; n < tl.length; n++) {
    const e = tl[n];
    let m = n;
    while (e.phase === 'window-error' && tl[m + 1]?.phase === 'window-error') m++;
    if (m > n) {
      rows.push({ t: `${(e.t / 1000).toFixed(2)} … ${(tl[m].t / 1000).toFixed(2)}`, at: e.at, event: `errors ×${m - n + 1}`, phase: e.phase, detail: e.detail });
      n = m;
    } else rows.push({ t: (e.t / 1000).toFixed(2), at: e.at, event: e.event, phase: e.phase, detail: e.detail });
  }
  return rows;
}

export function DrillPage({ id }) {
  const [report, setReport] = useState(undefined);
  const [error, setError] = useState(null);
  const [chart, setChart] = useState('loading');
  useEffect(() => {
    const ctrl = new AbortController();
    setReport(undefined);
    setError(null);
    api(`/drills/${enc(id)}/report`, { signal: ctrl.signal }).then(setReport, (e) => e.name !== 'AbortError' && setError(e));
    return () => ctrl.abort();
  }, [id]);
  useEffect(() => {
    if (report?.drill) document.title = `Drill ${report.drill}: ${VERDICT[report.verdict] ?? report.verdict} — Runwright`;
  }, [report]);
  if (error) return html`<h1>Drill report</h1><p><a href=${runHref(id)}>Run ${id}</a></p><${ErrorBox} error=${error} />`;
  if (!report) return html`<h1>Drill report</h1><${Loading} what="Loading the report" />`;
  const r = report;
  const rows = [
    ['Run', html`<a href=${runHref(r.id ?? id)}>${r.id ?? id}</a>`],
    ['Target', r.target],
    ['Clusters', (r.clusters ?? []).join(', ')],
    ['Verdict', html`<${StateBadge} state=${r.verdict} />`],
    ...(r.skipped ? [['Skipped because', r.skipped]] : []),
    ['RTO (fault injected → traffic shifted)', rtoText(r)],
    ['Detection (fault injected → probe saw it down)', fmtMs(r.detectionMs)],
    ['Failover (detection → traffic shifted)', fmtMs(r.failoverMs)],
    ['Errors during window', errorsText(r.errorsDuringWindow)],
    ['Fault restored', yesNo(r.restored)],
    ['Failed back', r.failedBack === undefined || r.failedBack === null ? 'not needed' : yesNo(r.failedBack)],
    ['Steady state after', yesNo(r.steadyAfter)],
    ['Engine share of RTO', engineText(r.engine, r.engineNote)],
    ['Safe mode', yesNo(r.safe)],
    ['Injected', fmtTime(r.injectedAt)],
    ['Traffic shifted', r.shiftedAt ? `${fmtTime(r.shiftedAt)}${r.shiftStep ? ` (step ${r.shiftStep})` : ''}` : '—'],
    ['Generated', fmtTime(r.generatedAt)],
  ];
  const timeline = collapsed(r.timeline ?? []);
  return html`<article class="drill">
    <h1>DR drill report: ${r.drill} — <span class=${`verdict v-${r.verdict}`}>${VERDICT[r.verdict] ?? r.verdict}</span></h1>
    <div class="table-wrap"><table class="facts-table">
      <caption class="sr-only">Summary</caption>
      <tbody>${rows.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody>
    </table></div>
    ${r.reasons?.length ? html`<section aria-labelledby="reasons-h"><h2 id="reasons-h">Reasons</h2><ul>${r.reasons.map((x) => html`<li>${x}</li>`)}</ul></section>` : null}
    <section aria-labelledby="chart-h">
      <h2 id="chart-h">Timeline chart</h2>
      <figure class="chart">
        <img src=${`${API}/drills/${enc(id)}/chart.svg`} alt=${`Timeline of drill ${r.drill}: one lane per phase, seconds since the fault was injected`}
          onLoad=${() => setChart('ok')} onError=${() => setChart('failed')} />
        ${chart === 'failed' ? html`<figcaption class="error-box" role="alert">The chart could not be loaded.</figcaption>` : null}
      </figure>
    </section>
    <section aria-labelledby="tl-h">
      <h2 id="tl-h">Timeline</h2>
      <div class="table-wrap"><table class="timeline">
        <thead><tr><th scope="col">t (s)</th><th scope="col">At</th><th scope="col">Phase</th><th scope="col">Event</th><th scope="col">Detail</th></tr></thead>
        <tbody>${timeline.map((e) => html`<tr><td class="num">${e.t}</td><td class="time">${fmtTime(e.at)}</td><td>${e.phase}</td><td>${e.event}</td><td class="detail">${e.detail}</td></tr>`)}</tbody>
      </table></div>
      ${r.windowErrorsOmitted ? html`<p class="muted">${r.windowErrorsOmitted} window errors are not listed; ${r.files?.json ?? 'report.json'} has all of them.</p>` : null}
    </section>
    <section aria-labelledby="dsteps-h">
      <h2 id="dsteps-h">Steps</h2>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Step</th><th scope="col">State</th><th scope="col">Error</th></tr></thead>
        <tbody>${Object.entries(r.steps ?? {}).map(([k, v]) => html`<tr><th scope="row">${k}</th><td><${StateBadge} state=${v?.state ?? 'not run'} /></td><td>${v?.error ?? ''}</td></tr>`)}</tbody>
      </table></div>
    </section>
    <section aria-labelledby="fault-h">
      <h2 id="fault-h">Fault</h2>
      <pre>${JSON.stringify(r.fault ?? {}, null, 2)}</pre>
    </section>
    ${r.files ? html`<p class="muted">Files: ${r.files.json}, ${r.files.markdown}, ${r.files.png}</p>` : null}
  </article>`;
}
