// The runs list: filters kept in the address (#/runs?runbook=…&state=…&startedBy=…), live.
import { useEffect, useState } from 'preact/hooks';
import { html, usePoll, useNow, StateBadge, ErrorBox, StaleNote, Loading, Time, fmtMs, duration, runHref, runbookHref, plural } from './lib.js';

export const RUN_STATES = ['running', 'waiting-approval', 'compensating', 'succeeded', 'failed', 'cancelled'];
const EXEC_STATES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut'];

const FILTERS = ['runbook', 'state', 'startedBy'];

function filterQuery(q) {
  const out = new URLSearchParams();
  for (const k of FILTERS) if (q.get(k)) out.set(k, q.get(k));
  return out;
}

/** The state a row shows: Runwright's own when it has one and the run is still going, else how it ended. */
function rowState(r) {
  if (r.execution === 'RUNNING') return r.state ?? 'running';
  if (r.state && !['running', 'waiting-approval', 'compensating'].includes(r.state)) return r.state;
  return { COMPLETED: 'succeeded', FAILED: 'failed', CANCELLED: 'cancelled', CANCELED: 'cancelled' }[r.execution] ?? String(r.execution).toLowerCase();
}

export function RunsPage({ query }) {
  const fq = filterQuery(query);
  const qs = fq.toString();
  const { data, error, at } = usePoll(`/runs${qs ? `?${qs}` : ''}`, { keep: true });
  const books = usePoll('/runbooks', { interval: 0 }).data?.runbooks ?? [];
  const [form, setForm] = useState(() => Object.fromEntries(FILTERS.map((k) => [k, fq.get(k) ?? ''])));
  useEffect(() => setForm(Object.fromEntries(FILTERS.map((k) => [k, fq.get(k) ?? '']))), [qs]);
  const runs = data?.runs ?? [];
  const live = runs.some((r) => r.execution === 'RUNNING');
  const now = useNow(live);
  const go = (f) => {
    const q = new URLSearchParams();
    for (const k of FILTERS) if (f[k]?.trim()) q.set(k, f[k].trim());
    const s = q.toString();
    location.hash = `#/runs${s ? `?${s}` : ''}`;
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const waiting = runs.filter((r) => r.execution === 'RUNNING' && r.state === 'waiting-approval').length;
  return html`<h1>Runs</h1>
    <form class="filters" onSubmit=${(e) => { e.preventDefault(); go(form); }} role="search" aria-label="Filter runs">
      <div class="field">
        <label for="f-runbook">Runbook</label>
        <input id="f-runbook" type="text" value=${form.runbook} onInput=${set('runbook')} placeholder="any" autocomplete="off" list="runbook-names" />
        <datalist id="runbook-names">${books.map((b) => html`<option value=${b.name} />`)}</datalist>
      </div>
      <div class="field">
        <label for="f-state">State</label>
        <select id="f-state" value=${form.state} onChange=${(e) => { const f = { ...form, state: e.currentTarget.value }; setForm(f); go(f); }}>
          <option value="">any</option>
          <optgroup label="Runwright state">${RUN_STATES.map((s) => html`<option value=${s}>${s}</option>`)}</optgroup>
          <optgroup label="Temporal status">${EXEC_STATES.map((s) => html`<option value=${s}>${s}</option>`)}</optgroup>
        </select>
      </div>
      <div class="field">
        <label for="f-by">Started by</label>
        <input id="f-by" type="text" value=${form.startedBy} onInput=${set('startedBy')} placeholder="anyone" autocomplete="off" />
      </div>
      <div class="field buttons">
        <button type="submit">Filter</button>
        ${qs ? html`<a href="#/runs" class="button-link">Clear</a>` : null}
      </div>
    </form>
    <${StaleNote} error=${data ? error : null} at=${at} />
    ${!data && error ? html`<${ErrorBox} error=${error} />` : null}
    ${!data && !error ? html`<${Loading} what="Loading runs" />` : null}
    ${data
      ? html`<p class="summary" role="status">${plural(runs.length, 'run')}${waiting ? html` · <strong>${waiting} waiting for approval</strong>` : null}</p>
        ${runs.length
          ? html`<div class="table-wrap"><table class="runs">
              <caption class="sr-only">Runs, newest first</caption>
              <thead><tr><th scope="col">Run</th><th scope="col">Runbook</th><th scope="col">State</th><th scope="col">Started by</th><th scope="col">Started</th><th scope="col">Duration</th></tr></thead>
              <tbody>
                ${runs.map(
                  (r) => html`<tr key=${r.workflowId}>
                    <td><a href=${runHref(r.workflowId)}>${r.workflowId}</a></td>
                    <td>${r.runbook ? html`<a href=${runbookHref(r.runbook)} class="quiet-link">${r.runbook}</a>` : '—'}</td>
                    <td><${StateBadge} state=${rowState(r)} /></td>
                    <td>${r.startedBy ?? '—'}</td>
                    <td class="time"><${Time} iso=${r.startTime} /></td>
                    <td class="num">${fmtMs(duration(r.startTime, r.closeTime, now))}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>`
          : html`<p class="muted">No runs${qs ? ' match these filters' : ' yet'}.</p>`}`
      : null}`;
}
