// The run page: header, approval cards, step tree, error, compensations, host recaps, audit.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html, api, enc, usePoll, useNow, StateBadge, ErrorBox, StaleNote, Loading, ApiError, Time, fmtTime, fmtMs, duration, relative, shortHash, fmtValue, drillHref, runbookHref } from './lib.js';
import { StepTree } from './steps.js';

const HOW = {
  ssh: (a) => `signed with an SSH key${a.key ? ` (${a.key})` : ''}`,
  slack: (a) => `vouched for by the Slack gateway${a.via ? ` (${a.via})` : ''}${a.slackUser ? `, Slack user ${a.slackUser}` : ''}`,
  claim: () => 'unverified claim (unsigned request)',
  parent: () => 'started by its parent run',
  schedule: () => "a schedule, signed by the schedule's creator",
};

/** "alice — signed with an SSH key (SHA256:…)" */
export function identityText(a) {
  if (!a) return '';
  const how = HOW[a.method]?.(a) ?? a.method ?? 'unknown';
  return `${how}${a.note ? `; ${a.note}` : ''}`;
}

const counted = (d) => d.counted !== false;
const clip = (s, n = 400) => (s.length > n ? `${s.slice(0, n)}… (${(s.length - n).toLocaleString('en-US')} more characters)` : s);

/** The reason box and buttons of one decision form; POSTs with the plan hash the approver reviewed. */
function DecisionForm({ runId, step, planHash, onDone }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState('');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const rid = `reason-${step.replace(/[^\w-]/g, '_')}`;
  async function decide(decision) {
    setError(null);
    setResult(null);
    if (decision === 'reject' && !reason.trim()) {
      setError(new ApiError('A rejection needs a reason: write it in the reason field.', 0));
      document.getElementById(rid)?.focus();
      return;
    }
    setBusy(decision);
    try {
      const body = { step, planHash };
      if (reason.trim()) body.reason = reason.trim();
      const r = await api(`/runs/${enc(runId)}/${decision}`, { method: 'POST', body });
      setResult(r?.message ?? (r?.status === 'queued' ? 'Queued: no worker answered; it will be checked when one does.' : 'Done.'));
      if (r?.status === 'accepted' || r?.status === 'queued') setReason('');
      onDone?.();
    } catch (e) {
      setError(e);
    } finally {
      setBusy('');
    }
  }
  return html`<form class="decide" onSubmit=${(e) => e.preventDefault()}>
    <label for=${rid}>Reason <span class="muted">(required to reject)</span></label>
    <textarea id=${rid} rows="2" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>
    <div class="buttons">
      <button type="button" class="approve" disabled=${!!busy} onClick=${() => decide('approve')}>${busy === 'approve' ? 'Approving…' : 'Approve'}</button>
      <button type="button" class="reject danger" disabled=${!!busy} onClick=${() => decide('reject')}>${busy === 'reject' ? 'Rejecting…' : 'Reject'}</button>
      <span class="muted">on plan ${shortHash(planHash)}</span>
    </div>
    <div aria-live="polite" class="decide-result">${result ? html`<p class="ok-box" role="status">${result}</p>` : null}</div>
    <${ErrorBox} error=${error} title="Refused" />
  </form>`;
}

/** One pending approval: what is asked, the plan and its hash, what changed since, and the decision form. */
export function ApprovalCard({ runId, pa, status, me, now, onDone }) {
  // The plan the approver is looking at stays put when the run's plan changes under it: they are
  // told, and a decision sent before they look again carries the old hash (and is refused).
  const [reviewed, setReviewed] = useState({ hash: pa.planHash, plan: pa.plan });
  useEffect(() => {
    if (!reviewed.hash && pa.planHash) setReviewed({ hash: pa.planHash, plan: pa.plan });
  }, [pa.planHash]);
  const planChanged = reviewed.hash && pa.planHash && reviewed.hash !== pa.planHash;
  const approvals = pa.decisions.filter((d) => d.decision === 'approve' && counted(d));
  const since = Date.parse(pa.requestedAt);
  const changes = (status.paramChanges ?? []).filter((c) => !(Date.parse(c.at) < since));
  const voided = [...pa.decisions, ...(status.decisions ?? []).filter((d) => d.step === pa.step)].filter(
    (d, i, all) => d.counted === false && all.findIndex((x) => (x.requestId && x.requestId === d.requestId) || (x.user === d.user && x.at === d.at)) === i,
  );
  const who = pa.eligible?.length ? pa.eligible.join(', ') : pa.approvers?.length ? pa.approvers.join(', ') : pa.allowSelfApproval ? 'anyone' : 'anyone but the person who started the run';
  const hid = `approval-${pa.step.replace(/[^\w-]/g, '_')}`;
  const notEligible = me?.user && pa.eligible?.length && !pa.eligible.includes(me.user);
  return html`<section class="card approval" aria-labelledby=${hid}>
    <h2 id=${hid}>Approval needed: ${pa.step}${pa.phase === 'escalated' ? html` <span class="badge st-escalated">escalated</span>` : null}</h2>
    <p class="message">${pa.message}</p>
    <dl class="facts">
      <dt>Approvals</dt><dd><strong>${approvals.length} of ${pa.required}</strong>${approvals.length ? ` (${approvals.map((d) => d.user).join(', ')})` : ''}</dd>
      <dt>Who may decide</dt><dd>${who}${pa.approvers?.length && pa.eligible?.length ? html` <span class="muted">(${pa.approvers.join(', ')})</span>` : null}</dd>
      <dt>Requested</dt><dd><${Time} iso=${pa.requestedAt} /> <span class="muted">(${relative(pa.requestedAt, now)})</span></dd>
      <dt>Deadline</dt><dd>${pa.deadline ? html`<${Time} iso=${pa.deadline} /> <span class="muted">(${relative(pa.deadline, now)}${pa.onTimeout ? `, then ${pa.onTimeout}` : ''})</span>` : 'none'}</dd>
      <dt>Plan hash</dt><dd><code title=${reviewed.hash ?? ''}>${shortHash(reviewed.hash)}</code></dd>
    </dl>
    ${notEligible ? html`<p class="warn-box">You (${me.user}) are not among the approvers of this gate.</p>` : null}
    ${planChanged
      ? html`<div class="warn-box" role="alert">
          The plan changed since you opened it (was <code>${shortHash(reviewed.hash)}</code>, now <code>${shortHash(pa.planHash)}</code>).
          A decision on the old plan is refused.
          <button type="button" onClick=${() => setReviewed({ hash: pa.planHash, plan: pa.plan })}>Show the new plan</button>
        </div>`
      : null}
    <h3>Plan of the steps that follow</h3>
    ${reviewed.plan ? html`<pre class="plan" tabindex="0" aria-label="plan">${reviewed.plan}</pre>` : html`<p class="muted">The plan is being prepared…</p>`}
    <h3>What changed since the request</h3>
    ${changes.length || voided.length
      ? html`<ul class="changes">
          ${changes.map(
            (c) => html`<li>
              ${fmtTime(c.at, { short: true })}: <strong>${c.user}</strong> changed
              ${Object.entries(c.changed).map(([k, v], i) => html`${i ? ', ' : ' '}<code>${k}</code> ${fmtValue(v.from)} → ${fmtValue(v.to)}`)}
              ${c.reason ? html` — “${c.reason}”` : null}
            </li>`,
          )}
          ${voided.map(
            (d) => html`<li>${d.user}'s ${d.decision === 'approve' ? 'approval' : 'rejection'} of ${fmtTime(d.at, { short: true })} (plan <code>${shortHash(d.planHash)}</code>) no longer counts: the plan changed after it.</li>`,
          )}
        </ul>`
      : html`<p class="muted">Nothing: no param changes and no discounted decisions.</p>`}
    ${pa.decisions.some(counted)
      ? html`<h3>Decisions so far</h3>
          <ul class="decisions">${pa.decisions.filter(counted).map((d) => html`<li><${DecisionLine} d=${d} /></li>`)}</ul>`
      : null}
    <${DecisionForm} runId=${runId} step=${pa.step} planHash=${reviewed.hash} onDone=${onDone} />
  </section>`;
}

function DecisionLine({ d }) {
  return html`<strong>${d.user}</strong> ${d.decision === 'approve' ? 'approved' : 'rejected'} at ${fmtTime(d.at, { short: true })}
    ${d.source ? html` <span class="muted">via ${d.source}${d.actor ? ` (${d.actor})` : ''}</span>` : null}
    ${d.auth ? html` <span class="muted">· ${identityText(d.auth)}</span>` : null}
    ${d.queued ? html` <span class="muted">· queued</span>` : null}
    ${d.reason ? html` — “${d.reason}”` : null}`;
}

function CancelBox({ runId, onDone }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  async function cancel(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api(`/runs/${enc(runId)}/cancel`, { method: 'POST', body: reason.trim() ? { reason: reason.trim() } : {} });
      setMsg(r?.message ?? 'Cancel requested.');
      setOpen(false);
      onDone?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return html`<div class="cancel">
    ${open
      ? html`<form onSubmit=${cancel} class="inline-form">
          <label for="cancel-reason">Reason for cancelling</label>
          <input id="cancel-reason" type="text" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
          <button type="submit" class="danger" disabled=${busy}>${busy ? 'Cancelling…' : 'Cancel the run'}</button>
          <button type="button" onClick=${() => setOpen(false)}>Keep it running</button>
        </form>`
      : html`<button type="button" class="danger" onClick=${() => setOpen(true)}>Cancel…</button>`}
    <div aria-live="polite">${msg ? html`<p class="ok-box" role="status">${msg}</p>` : null}</div>
    <${ErrorBox} error=${error} title="Cancel refused" />
  </div>`;
}

function Compensations({ list }) {
  if (!list?.length) return null;
  return html`<section aria-labelledby="comp-h">
    <h2 id="comp-h">Compensations</h2>
    <p class="muted">Undo actions of completed steps, newest first.</p>
    <div class="table-wrap"><table class="compensations">
      <thead><tr><th scope="col">Step</th><th scope="col">Action</th><th scope="col">State</th><th scope="col">Error</th></tr></thead>
      <tbody>
        ${list.map(
          (c) => html`<tr key=${c.path}>
            <td><code>${c.path}</code></td><td><code>${c.action}</code></td><td><${StateBadge} state=${c.state} /></td>
            <td>${c.error ? html`<pre class="step-error">${c.error}</pre>` : ''}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>
  </section>`;
}

function HostRecaps({ recaps }) {
  if (!recaps?.length) return null;
  return html`<section aria-labelledby="recap-h">
    <h2 id="recap-h">Host recaps</h2>
    ${recaps.map(
      (r) => html`<div class="table-wrap" key=${r.step}><table class="recap">
        <caption><code>${r.step}</code></caption>
        <thead><tr><th scope="col">Host</th><th scope="col">ok</th><th scope="col">changed</th><th scope="col">failed</th><th scope="col">unreachable</th><th scope="col">skipped</th></tr></thead>
        <tbody>
          ${r.hosts.map(
            (h) => html`<tr key=${h.host} class=${h.failed || h.unreachable ? 'bad-row' : ''}>
              <th scope="row">${h.host}</th><td class="num">${h.ok}</td><td class="num">${h.changed}</td>
              <td class=${`num${h.failed ? ' bad' : ''}`}>${h.failed}</td><td class=${`num${h.unreachable ? ' bad' : ''}`}>${h.unreachable}</td><td class="num">${h.skipped}</td>
            </tr>`,
          )}
        </tbody>
      </table></div>`,
    )}
  </section>`;
}

function Audit({ status }) {
  const decisions = status.decisions ?? [];
  const refusals = status.refusals ?? [];
  const gates = status.approvals ?? [];
  const changes = status.paramChanges ?? [];
  const notices = status.notices ?? [];
  if (!decisions.length && !refusals.length && !gates.length && !changes.length && !notices.length) return null;
  return html`<section aria-labelledby="audit-h">
    <h2 id="audit-h">Approvals and changes</h2>
    ${gates.length
      ? html`<h3>Finished gates</h3><ul>${gates.map(
          (g) => html`<li><code>${g.step}</code>: <${StateBadge} state=${g.outcome} /> at ${fmtTime(g.endedAt, { short: true })}
            ${g.escalated ? ' (after escalation)' : ''} ${g.note ? html`<span class="muted">— ${g.note}</span>` : null}</li>`,
        )}</ul>`
      : null}
    ${decisions.length
      ? html`<h3>Decisions</h3><ul>${decisions.map(
          (d) => html`<li><code>${d.step}</code>: <${DecisionLine} d=${d} />${d.counted === false ? html` <span class="badge st-voided">no longer counts</span>` : null}</li>`,
        )}</ul>`
      : null}
    ${refusals.length
      ? html`<h3>Refused decisions</h3><ul>${refusals.map(
          (r) => html`<li>${fmtTime(r.at, { short: true })}: <strong>${r.user}</strong> (${r.decision}${r.step ? ` on ${r.step}` : ''}${r.source ? `, via ${r.source}` : ''}): ${r.reason}</li>`,
        )}</ul>`
      : null}
    ${changes.length
      ? html`<h3>Param changes</h3><ul>${changes.map(
          (c) => html`<li>${fmtTime(c.at, { short: true })}: <strong>${c.user}</strong>
            ${Object.entries(c.changed).map(([k, v], i) => html`${i ? ', ' : ' '}<code>${k}</code> ${fmtValue(v.from)} → ${fmtValue(v.to)}`)}${c.reason ? ` — “${c.reason}”` : ''}</li>`,
        )}</ul>`
      : null}
    ${notices.length ? html`<h3>Notices</h3><ul>${notices.map((n) => html`<li>${n}</li>`)}</ul>` : null}
  </section>`;
}

function History({ runId }) {
  const [events, setEvents] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function load() {
    setBusy(true);
    setError(null);
    try {
      setEvents((await api(`/runs/${enc(runId)}/history`))?.events ?? []);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  const MAX = 500;
  return html`<section aria-labelledby="hist-h">
    <h2 id="hist-h">History</h2>
    <button type="button" onClick=${load} disabled=${busy}>${events ? 'Reload history' : 'Show history'}</button>
    <${ErrorBox} error=${error} />
    ${events
      ? html`<div class="table-wrap"><table class="history">
          <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Detail</th></tr></thead>
          <tbody>${events.slice(0, MAX).map(
            (e) => html`<tr key=${e.id}><td class="num">${e.id}</td><td class="time">${fmtTime(e.time, { short: true })}</td><td>${e.type}</td><td class="detail">${e.detail}</td></tr>`,
          )}</tbody>
        </table></div>
        ${events.length > MAX ? html`<p class="muted">${events.length - MAX} more events not shown.</p>` : null}`
      : null}
  </section>`;
}

/** A step whose outputs are a drill report (drill.report): the drill page has it. */
function hasDrillReport(steps) {
  return (steps ?? []).some((s) => s.outputs && typeof s.outputs === 'object' && 'verdict' in s.outputs && Array.isArray(s.outputs.timeline) && 'objectiveRtoMs' in s.outputs);
}

export function RunPage({ id, me }) {
  const { data, error, at, refresh } = usePoll(`/runs/${enc(id)}`);
  // The status says a run has ended a moment before Temporal closes it: no Cancel button then.
  const ended = ['succeeded', 'failed', 'cancelled'].includes(data?.status?.state);
  const running = data?.execution === 'RUNNING' && !ended;
  const now = useNow(running);
  const st = data?.status;
  const state = st?.state ?? data?.execution?.toLowerCase();
  useEffect(() => {
    if (state) document.title = `${state} · ${id} — Runwright`;
  }, [state, id]);
  const drill = useMemo(() => hasDrillReport(st?.steps), [st?.steps]);
  if (!data) {
    if (error) return html`<h1>Run ${id}</h1><${ErrorBox} error=${error} />`;
    return html`<h1>Run ${id}</h1><${Loading} what="Loading the run" />`;
  }
  const started = st?.startedAt;
  const endedAt = st?.endedAt;
  return html`<article class="run">
    <header class="run-head">
      <h1>Run <span class="run-id">${data.workflowId}</span></h1>
      <div class="state-line" role="status" aria-live="polite" aria-atomic="true">
        <span class="sr-only">Run state: </span><${StateBadge} state=${state} />
        ${st && data.execution && st.state && data.execution !== 'RUNNING' && data.execution.toLowerCase() !== st.state ? html` <span class="muted">(Temporal: ${data.execution})</span>` : null}
      </div>
      <dl class="facts">
        <dt>Runbook</dt><dd>${st?.runbook ? html`<a href=${runbookHref(st.runbook)}>${st.runbook}</a>` : '—'}</dd>
        <dt>Started by</dt><dd>${st?.identity ? html`<strong>${st.identity.user}</strong> <span class="muted">— ${identityText(st.identity)}</span>` : data.startedBy ?? '—'}</dd>
        <dt>Started</dt><dd><${Time} iso=${started} /></dd>
        <dt>${endedAt ? 'Ended' : 'Running for'}</dt><dd>${endedAt ? html`<${Time} iso=${endedAt} /> <span class="muted">(took ${fmtMs(duration(started, endedAt))})</span>` : fmtMs(duration(started, null, now))}</dd>
        ${st?.cancelledBy ? html`<dt>Cancelled by</dt><dd><strong>${st.cancelledBy.user}</strong> at ${fmtTime(st.cancelledBy.at)}${st.cancelledBy.reason ? ` — “${st.cancelledBy.reason}”` : ''}</dd>` : null}
        ${data.link ? html`<dt>Temporal</dt><dd><a href=${data.link} target="_blank" rel="noopener noreferrer">Open in the Temporal UI</a></dd>` : null}
        ${drill ? html`<dt>Drill</dt><dd><a href=${drillHref(data.workflowId)}>Drill report</a></dd>` : null}
      </dl>
      ${running ? html`<${CancelBox} runId=${data.workflowId} onDone=${refresh} />` : null}
    </header>
    <${StaleNote} error=${error} at=${at} />
    ${!st ? html`<p class="warn-box">No worker answered the status query, so only what the server knows is shown (${data.execution}). Steps appear when a worker is up.</p>` : null}
    ${st?.error ? html`<section class="run-error" aria-labelledby="err-h"><h2 id="err-h">Error</h2><pre class="step-error">${st.error}</pre></section>` : null}
    ${(st?.pendingApprovals ?? []).map((pa) => html`<${ApprovalCard} key=${pa.step} runId=${data.workflowId} pa=${pa} status=${st} me=${me} now=${now} onDone=${refresh} />`)}
    ${st
      ? html`<section aria-labelledby="steps-h">
          <h2 id="steps-h">Steps</h2>
          <${StepTree} steps=${st.steps} now=${now} />
        </section>`
      : null}
    <${Compensations} list=${st?.compensations} />
    <${HostRecaps} recaps=${data.hostRecaps} />
    ${st && Object.keys(st.params ?? {}).length
      ? html`<section aria-labelledby="params-h"><h2 id="params-h">Params</h2>
          <dl class="facts params">${Object.entries(st.params).map(([k, v]) => html`<dt>${k}</dt><dd><code>${clip(fmtValue(v))}</code></dd>`)}</dl>
        </section>`
      : null}
    ${st ? html`<${Audit} status=${st} />` : null}
    <${History} runId=${data.workflowId} />
  </article>`;
}
