// The runbook catalog, and a params form generated from a runbook's JSON Schema: plan, then start.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html, api, enc, usePoll, ErrorBox, Loading, runHref, runbookHref } from './lib.js';

export function CatalogPage() {
  const { data, error } = usePoll('/runbooks', { interval: 0 });
  const list = data?.runbooks ?? [];
  return html`<h1>Runbooks</h1>
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${!data && !error ? html`<${Loading} what="Loading runbooks" />` : null}
    ${data && !list.length ? html`<p class="muted">No runbooks found in the console's runbook folders.</p>` : null}
    ${data?.problems?.length
      ? html`<div class="warn-box" role="status"><strong>${data.problems.length === 1 ? 'One runbook file does not validate' : `${data.problems.length} runbook files do not validate`}</strong> (left out of the catalog):
          <ul>${data.problems.map((p) => html`<li><code>${p}</code></li>`)}</ul></div>`
      : null}
    ${list.length
      ? html`<div class="table-wrap"><table class="catalog">
          <thead><tr><th scope="col">Runbook</th><th scope="col">Description</th><th scope="col">Labels</th><th scope="col">File</th></tr></thead>
          <tbody>${list.map(
            (r) => html`<tr key=${r.name}>
              <td><a href=${runbookHref(r.name)}>${r.name}</a></td>
              <td>${r.description ?? ''}</td>
              <td>${Object.entries(r.labels ?? {}).map(([k, v]) => html`<span class="chip">${k}=${v}</span> `)}</td>
              <td><code>${r.file}</code></td>
            </tr>`,
          )}</tbody>
        </table></div>`
      : null}`;
}

// ---------------------------------------------------------------------------------------------
// Fields from JSON Schema

const baseType = (p) => (Array.isArray(p?.type) ? p.type.find((t) => t !== 'null') : p?.type);
function enumOf(p) {
  if (Array.isArray(p?.enum)) return p.enum;
  const alts = p?.anyOf ?? p?.oneOf;
  if (Array.isArray(alts) && alts.length && alts.every((a) => 'const' in a)) return alts.map((a) => a.const);
  return null;
}
const scalar = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** One form field per param: how it is edited and how its text becomes a value. */
export function fieldsOf(schema, secretParams = []) {
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  return Object.entries(props).map(([name, p]) => {
    const type = baseType(p) ?? 'string';
    const options = enumOf(p);
    const itemType = type === 'array' ? baseType(p.items) : undefined;
    let widget = 'text';
    if (options) widget = 'select';
    else if (type === 'boolean') widget = 'checkbox';
    else if (type === 'integer' || type === 'number') widget = 'number';
    else if (type === 'array') widget = !itemType || ['string', 'integer', 'number', 'boolean'].includes(itemType) ? 'list' : 'json';
    else if (type === 'object') widget = 'json';
    const secret = secretParams.includes(name) || p.writeOnly === true || p.format === 'password';
    return { name, p, type, itemType, options, widget, secret, required: required.has(name) && p.default === undefined, hasDefault: p.default !== undefined };
  });
}

function initialText(f) {
  const d = f.p.default;
  if (f.widget === 'checkbox') return d === true;
  if (d === undefined || d === null) return '';
  if (f.widget === 'select') return String(f.options.findIndex((o) => o === d));
  if (f.widget === 'list') return Array.isArray(d) && d.every(scalar) ? d.join(', ') : JSON.stringify(d);
  if (f.widget === 'json') return JSON.stringify(d, null, 2);
  return String(d);
}

function scalarOf(t, type) {
  if (type === 'integer' || type === 'number') {
    const n = Number(t);
    if (t === '' || !Number.isFinite(n)) throw new Error(`"${t}" is not a number`);
    if (type === 'integer' && !Number.isInteger(n)) throw new Error(`"${t}" is not a whole number`);
    return n;
  }
  if (type === 'boolean') {
    if (/^(true|yes|on|1)$/i.test(t)) return true;
    if (/^(false|no|off|0)$/i.test(t)) return false;
    throw new Error(`"${t}" is not true or false`);
  }
  return t;
}

/** The value a field's text stands for; undefined: leave the param out (the runbook's default applies). */
export function valueOf(f, raw) {
  if (f.widget === 'checkbox') return !!raw;
  const t = String(raw ?? '').trim();
  if (t === '') return undefined;
  switch (f.widget) {
    case 'select':
      return f.options[Number(t)];
    case 'number':
      return scalarOf(t, f.type);
    case 'list':
      if (t.startsWith('[')) return JSON.parse(t);
      return t.split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => scalarOf(x, f.itemType ?? 'string'));
    case 'json':
      if (f.type === 'array' && !t.startsWith('[')) return t.split(',').map((x) => x.trim()).filter(Boolean);
      return JSON.parse(t);
    default:
      return f.secret ? String(raw) : t;
  }
}

/** API details ("param \"batch\": expected a number (got …)") by the param they name. */
function splitDetails(details, names) {
  const byField = {};
  const general = [];
  for (const d of details ?? []) {
    const m = /param "([^"]+)"/.exec(d) ?? /^([\w.-]+):/.exec(d);
    if (m && names.includes(m[1])) (byField[m[1]] ??= []).push(d);
    else general.push(d);
  }
  return { byField, general };
}

function Field({ f, raw, onChange, errors }) {
  const id = `p-${f.name}`;
  const errId = `${id}-err`;
  const helpId = `${id}-help`;
  const invalid = errors?.length ? 'true' : undefined;
  const described = [f.p.description || f.hasDefault || f.widget === 'list' || f.widget === 'json' || f.secret ? helpId : '', invalid ? errId : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name: f.name, 'aria-invalid': invalid, 'aria-describedby': described, 'aria-required': f.required ? 'true' : undefined };
  let input;
  switch (f.widget) {
    case 'checkbox':
      input = html`<input ...${common} type="checkbox" checked=${!!raw} onChange=${(e) => onChange(e.currentTarget.checked)} />`;
      break;
    case 'select':
      input = html`<select ...${common} value=${raw} onChange=${(e) => onChange(e.currentTarget.value)}>
        ${!f.hasDefault ? html`<option value="">${f.required ? '— choose —' : '(none)'}</option>` : null}
        ${f.options.map((o, i) => html`<option value=${String(i)}>${String(o)}</option>`)}
      </select>`;
      break;
    case 'number':
      input = html`<input ...${common} type="number" inputmode=${f.type === 'integer' ? 'numeric' : 'decimal'} step=${f.type === 'integer' ? '1' : 'any'}
        min=${f.p.minimum} max=${f.p.maximum} value=${raw} onInput=${(e) => onChange(e.currentTarget.value)} />`;
      break;
    case 'json':
      input = html`<textarea ...${common} rows="4" class="mono" value=${raw} onInput=${(e) => onChange(e.currentTarget.value)}></textarea>`;
      break;
    default:
      input = html`<input ...${common} type=${f.secret ? 'password' : 'text'} autocomplete=${f.secret ? 'off' : undefined} spellcheck=${f.secret ? 'false' : undefined}
        pattern=${f.p.pattern} value=${raw} onInput=${(e) => onChange(e.currentTarget.value)} />`;
  }
  const help = [];
  if (f.p.description) help.push(f.p.description);
  if (f.widget === 'list') help.push(`a comma-separated list${f.itemType && f.itemType !== 'string' ? ` of ${f.itemType}s` : ''} (or JSON)`);
  if (f.widget === 'json') help.push('JSON');
  if (f.secret) help.push('secret: best a reference such as secret:NAME; shown as *** in plans and status');
  if (f.hasDefault) help.push(`default: ${f.secret ? '***' : JSON.stringify(f.p.default)}`);
  if (f.p.minimum !== undefined || f.p.maximum !== undefined) help.push(`range ${f.p.minimum ?? '−∞'} … ${f.p.maximum ?? '∞'}`);
  return html`<div class=${`field param${f.widget === 'checkbox' ? ' check' : ''}${invalid ? ' invalid' : ''}`}>
    <label for=${id}>${f.name}${f.required ? html` <span class="req" aria-hidden="true">*</span><span class="sr-only"> (required)</span>` : null}
      <span class="type">${f.type}${f.itemType ? ` of ${f.itemType}` : ''}</span></label>
    ${input}
    ${help.length ? html`<div class="help" id=${helpId}>${help.join(' · ')}</div>` : null}
    ${invalid ? html`<div class="field-error" id=${errId}>${errors.map((e) => html`<div>${e}</div>`)}</div>` : null}
  </div>`;
}

export function RunbookPage({ name }) {
  const { data: rb, error: loadError } = usePoll(`/runbooks/${enc(name)}`, { interval: 0 });
  const fields = useMemo(() => (rb ? fieldsOf(rb.paramsSchema, rb.secretParams ?? []) : []), [rb]);
  const [raw, setRaw] = useState({});
  const [runId, setRunId] = useState('');
  const [errors, setErrors] = useState({ byField: {}, general: [], message: null });
  const [plan, setPlan] = useState(null);
  const [busy, setBusy] = useState('');
  useEffect(() => {
    setRaw(Object.fromEntries(fields.map((f) => [f.name, initialText(f)])));
    setPlan(null);
  }, [fields]);
  useEffect(() => {
    document.title = `${name} — Runwright`;
  }, [name]);

  /** The params to send, or null with local errors set. */
  function collect() {
    const params = {};
    const local = {};
    for (const f of fields) {
      try {
        const v = valueOf(f, raw[f.name]);
        if (v !== undefined) params[f.name] = v;
        else if (f.required) local[f.name] = [`${f.name} is required`];
      } catch (e) {
        local[f.name] = [`${f.name}: ${e.message}`];
      }
    }
    if (Object.keys(local).length) {
      setErrors({ byField: local, general: [], message: 'Some params need fixing.' });
      focusFirstError(Object.keys(local));
      return null;
    }
    return params;
  }
  function focusFirstError(names) {
    const first = fields.find((f) => names.includes(f.name));
    if (first) setTimeout(() => document.getElementById(`p-${first.name}`)?.focus(), 0);
  }
  function showApiError(e) {
    const { byField, general } = splitDetails(e.details, fields.map((f) => f.name));
    setErrors({ byField, general, message: e.message });
    focusFirstError(Object.keys(byField));
  }
  async function doPlan() {
    const params = collect();
    if (!params) return;
    setBusy('plan');
    setErrors({ byField: {}, general: [], message: null });
    try {
      setPlan(await api('/plan', { method: 'POST', body: { runbook: name, params } }));
    } catch (e) {
      setPlan(null);
      showApiError(e);
    } finally {
      setBusy('');
    }
  }
  async function doStart(e) {
    e?.preventDefault();
    const params = collect();
    if (!params) return;
    setBusy('start');
    setErrors({ byField: {}, general: [], message: null });
    try {
      const body = { runbook: name, params };
      if (runId.trim()) body.id = runId.trim();
      const r = await api('/runs', { method: 'POST', body });
      location.hash = r?.url && r.url.startsWith('#/') ? r.url : runHref(r.workflowId);
    } catch (err) {
      showApiError(err);
      setBusy('');
    }
  }

  if (loadError) return html`<h1>${name}</h1><p><a href="#/catalog">All runbooks</a></p><${ErrorBox} error=${loadError} />`;
  if (!rb) return html`<h1>${name}</h1><${Loading} what="Loading the runbook" />`;
  const err = errors;
  return html`<h1>Start ${rb.name}</h1>
    <p><a href="#/catalog">All runbooks</a>${rb.file ? html` · <code>${rb.file}</code>` : null}</p>
    ${rb.description ? html`<p class="lead">${rb.description}</p>` : null}
    <form class="params" onSubmit=${doStart} novalidate aria-labelledby="params-h">
      <h2 id="params-h">Params</h2>
      ${fields.length ? html`<p class="muted"><span class="req" aria-hidden="true">*</span> required</p>` : html`<p class="muted">This runbook takes no params.</p>`}
      ${fields.map((f) => html`<${Field} key=${f.name} f=${f} raw=${raw[f.name]} errors=${err.byField[f.name]} onChange=${(v) => setRaw({ ...raw, [f.name]: v })} />`)}
      <div class="field">
        <label for="run-id">Run id <span class="muted">(optional)</span></label>
        <input id="run-id" type="text" value=${runId} onInput=${(e) => setRunId(e.currentTarget.value)} autocomplete="off" />
      </div>
      <div role="alert" class="form-errors">
        ${err.message ? html`<div class="error-box"><strong>${err.message}</strong>${err.general.length ? html`<ul>${err.general.map((d) => html`<li>${d}</li>`)}</ul>` : null}</div>` : null}
      </div>
      <div class="buttons">
        <button type="button" onClick=${doPlan} disabled=${!!busy}>${busy === 'plan' ? 'Planning…' : 'Plan'}</button>
        <button type="submit" class="primary" disabled=${!!busy}>${busy === 'start' ? 'Starting…' : 'Start'}</button>
      </div>
    </form>
    <section aria-labelledby="plan-h" aria-live="polite">
      ${plan
        ? html`<h2 id="plan-h">Plan</h2>
            <p class="muted">What would run with these params; nothing has been started.</p>
            <pre class="plan" tabindex="0" aria-label="plan">${plan.text}</pre>`
        : html`<h2 id="plan-h" class="sr-only">Plan</h2>`}
    </section>`;
}
