// Schedules (next runs, paused, note; pause/unpause/trigger) and the change-freeze calendar.
import { useState } from 'preact/hooks';
import { html, api, enc, usePoll, useNow, ErrorBox, StaleNote, Loading, StateBadge, fmtTime, relative, runHref, runbookHref } from './lib.js';

function ScheduleActions({ s, onDone }) {
  const [busy, setBusy] = useState('');
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  const [note, setNote] = useState('');
  const nid = `note-${s.id.replace(/[^\w-]/g, '_')}`;
  async function act(what) {
    if (what === 'pause' && !note.trim()) {
      setError({ message: 'Pausing needs a reason: it becomes the schedule\'s note.' });
      document.getElementById(nid)?.focus();
      return;
    }
    setBusy(what);
    setError(null);
    setMsg(null);
    try {
      const body = what === 'pause' && note.trim() ? { reason: note.trim() } : {};
      const r = await api(`/schedules/${enc(s.id)}/${what}`, { method: 'POST', body });
      setMsg(r?.message ?? { pause: 'Paused.', unpause: 'Unpaused.', trigger: 'Triggered.' }[what]);
      setNote('');
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy('');
    }
  }
  return html`<div class="sched-actions">
    ${s.paused
      ? html`<button type="button" disabled=${!!busy} onClick=${() => act('unpause')}>Unpause</button>`
      : html`<label for=${nid} class="sr-only">Reason for pausing ${s.id}</label>
          <input id=${nid} type="text" placeholder="reason (required)" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} />
          <button type="button" disabled=${!!busy} onClick=${() => act('pause')}>Pause</button>`}
    <button type="button" disabled=${!!busy} onClick=${() => act('trigger')}>Trigger now</button>
    <span aria-live="polite">${msg ? html`<span class="ok-text">${msg}</span>` : null}</span>
    <${ErrorBox} error=${error} />
  </div>`;
}

export function SchedulesPage() {
  const sched = usePoll('/schedules');
  const freeze = usePoll('/freeze', { interval: 10_000 });
  const now = useNow(true, 5000);
  const list = sched.data?.schedules ?? [];
  const windows = freeze.data?.windows ?? [];
  const startOf = (w) => Date.parse(w.startsAt ?? w.start);
  const endOf = (w) => Date.parse(w.endsAt ?? w.end);
  const isOn = (w) => (typeof w.active === 'boolean' ? w.active : startOf(w) <= now && now <= endOf(w));
  const active = windows.filter(isOn);
  return html`<h1>Schedules</h1>
    ${active.length
      ? html`<p class="warn-box" role="status">Change freeze now: ${active.map((w) => `${w.name}${w.reason ? ` (${w.reason})` : ''} until ${fmtTime(w.endsAt ?? w.end)}`).join('; ')}. Drill schedules skip their runs.</p>`
      : null}
    <${StaleNote} error=${sched.data ? sched.error : null} at=${sched.at} />
    ${!sched.data && sched.error ? html`<${ErrorBox} error=${sched.error} />` : null}
    ${!sched.data && !sched.error ? html`<${Loading} what="Loading schedules" />` : null}
    ${sched.data && !list.length ? html`<p class="muted">No schedules. Create one with <code>runwright schedule create</code>.</p>` : null}
    ${list.length
      ? html`<div class="table-wrap"><table class="schedules">
          <thead><tr><th scope="col">Schedule</th><th scope="col">Runbook</th><th scope="col">Cron</th><th scope="col">State</th><th scope="col">Next runs</th><th scope="col">Recent runs</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            ${list.map(
              (s) => html`<tr key=${s.id}>
                <th scope="row">${s.id}</th>
                <td>${s.runbook ? html`<a href=${runbookHref(s.runbook)}>${s.runbook}</a>` : '—'}</td>
                <td>${(s.cron ?? []).map((c) => html`<code class="block">${c}</code>`)}</td>
                <td><${StateBadge} state=${s.paused ? 'paused' : 'active'} />${s.note ? html`<div class="note">${s.note}</div>` : null}
                  ${s.inFreeze ? html`<div class="note"><strong>in freeze ${s.inFreeze.name}</strong> until ${fmtTime(s.inFreeze.endsAt)}${s.inFreeze.reason ? ` (${s.inFreeze.reason})` : ''}</div>` : null}</td>
                <td><ul class="plain">${(s.nextRuns ?? []).slice(0, 3).map((t) => html`<li>${fmtTime(t)} <span class="muted">(${relative(t, now)})</span></li>`)}</ul></td>
                <td><ul class="plain">${(s.recentRuns ?? []).slice(-3).reverse().map((r) => html`<li><a href=${runHref(r.workflowId)}>${fmtTime(r.startedAt)}</a></li>`)}</ul></td>
                <td><${ScheduleActions} s=${s} onDone=${sched.refresh} /></td>
              </tr>`,
            )}
          </tbody>
        </table></div>`
      : null}
    <section aria-labelledby="freeze-h">
      <h2 id="freeze-h">Change freezes</h2>
      ${freeze.error && !freeze.data ? html`<${ErrorBox} error=${freeze.error} />` : null}
      ${freeze.data
        ? html`${freeze.data.file ? html`<p class="muted">From <code>${freeze.data.file}</code></p>` : html`<p class="muted">No freeze calendar file.</p>`}
          ${windows.length
            ? html`<div class="table-wrap"><table>
                <thead><tr><th scope="col">Window</th><th scope="col">Start</th><th scope="col">End</th><th scope="col">Reason</th><th scope="col">Now</th></tr></thead>
                <tbody>${windows.map((w) => {
                  const on = isOn(w);
                  const past = endOf(w) < now;
                  return html`<tr class=${on ? 'bad-row' : ''}><th scope="row">${w.name}</th>
                    <td><span title=${w.start}>${fmtTime(w.startsAt ?? w.start)}</span></td><td><span title=${w.end}>${fmtTime(w.endsAt ?? w.end)}</span></td><td>${w.reason ?? ''}</td>
                    <td><${StateBadge} state=${on ? 'frozen' : past ? 'over' : 'upcoming'} /></td></tr>`;
                })}</tbody>
              </table></div>`
            : html`<p class="muted">No freeze windows.</p>`}`
        : null}
    </section>`;
}
