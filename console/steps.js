// The step tree of a run: flat steps with dotted paths, foreach items collapsed and paged.
import { useMemo, useState } from 'preact/hooks';
import { html, StateBadge, LazyJson, Time, fmtMs, duration, plural } from './lib.js';

/** Item rows of a foreach shown at first, and added per "show more". */
export const ITEM_PAGE = 50;

const ITEM_PARENT = /^(.*)\[(\d+)\]$/;

/** Indentation by path depth, as a style object (set through the CSSOM: the page's CSP allows no inline style attributes). */
const indent = (depth) => ({ paddingLeft: `calc(0.5rem + ${depth * 1.25}rem)` });

/**
 * Steps (flat, in order, `path` like "deploy", "each[3].check", "outer[1].inner[0].x") as a tree:
 * foreach entries get their items' steps as `itemRows` (with the item index); other nested paths
 * hang under their parent path; anything whose parent is missing stays at the top, indented.
 */
export function buildTree(steps) {
  const byPath = new Map();
  const nodes = steps.map((s) => {
    const n = { step: s, depth: String(s.path).split('.').length - 1, children: [], itemRows: null, item: undefined };
    byPath.set(s.path, n);
    return n;
  });
  const roots = [];
  for (const n of nodes) {
    const segs = String(n.step.path).split('.');
    if (segs.length === 1) {
      roots.push(n);
      continue;
    }
    const parentPath = segs.slice(0, -1).join('.');
    const m = ITEM_PARENT.exec(parentPath);
    const loop = m && byPath.get(m[1]);
    if (loop && loop !== n) {
      n.item = Number(m[2]);
      (loop.itemRows ??= []).push(n);
      continue;
    }
    const parent = byPath.get(parentPath);
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  return roots;
}

/** Counts of steps per state, for summaries and the filter. */
function countStates(rows) {
  const c = {};
  for (const r of rows) c[r.step.state] = (c[r.step.state] ?? 0) + 1;
  return c;
}

const ORDER = ['failed', 'running', 'waiting', 'pending', 'cancelled', 'compensated', 'succeeded', 'skipped'];

function ItemsSummary({ items }) {
  if (!items) return null;
  const done = items.succeeded + items.failed;
  return html`<div class="items">
    <progress max=${items.total || 1} value=${done} aria-label="items done">${done} of ${items.total}</progress>
    <span>
      ${done.toLocaleString('en-US')} of ${plural(items.total, 'item')} done
      · ${items.succeeded.toLocaleString('en-US')} succeeded
      ${items.failed ? html` · <strong class="bad">${items.failed.toLocaleString('en-US')} failed</strong>` : ''}
      ${items.running ? ` · ${items.running.toLocaleString('en-US')} running` : ''}
      ${items.batches > 1 ? ` · batch ${items.batch} of ${items.batches}` : ''}
    </span>
  </div>`;
}

function StepRow({ node, now }) {
  const s = node.step;
  const ms = duration(s.startedAt, s.endedAt, now);
  const label = node.item !== undefined ? html`<span class="item-no">[${node.item}]</span> ${s.id}` : s.id;
  const showOutputs = s.outputs !== undefined && s.outputs !== null;
  return html`<tr class=${`step st-row-${s.state}`} data-path=${s.path}>
    <td class="step-name" style=${indent(node.depth)}>
      <span class="path" title=${s.path}>${label}</span> <span class="kind">${s.kind}</span>
    </td>
    <td><${StateBadge} state=${s.state} /></td>
    <td class="num">${s.attempts ?? ''}</td>
    <td class="time">${s.startedAt ? html`<${Time} iso=${s.startedAt} short />` : ''}</td>
    <td class="num">${ms === null ? '' : fmtMs(ms)}</td>
    <td class="detail">
      ${s.progress ? html`<div class="progress-text"><span class="muted">progress:</span> ${s.progress}</div>` : null}
      <${ItemsSummary} items=${s.items} />
      ${s.error ? html`<pre class="step-error">${s.error}</pre>` : null}
      ${showOutputs ? html`<${LazyJson} value=${s.outputs} />` : null}
    </td>
  </tr>`;
}

/** A node's row, then its children, then (for a foreach) its items, paged and filterable. */
function NodeRows({ node, now }) {
  return html`<${StepRow} node=${node} now=${now} />
    ${node.children.map((c) => html`<${NodeRows} key=${c.step.path} node=${c} now=${now} />`)}
    ${node.itemRows ? html`<${ItemRows} key=${`${node.step.path}#items`} node=${node} now=${now} />` : null}`;
}

function ItemRows({ node, now }) {
  const [limit, setLimit] = useState(ITEM_PAGE);
  const [filter, setFilter] = useState('');
  const rows = node.itemRows;
  const counts = useMemo(() => countStates(rows), [rows]);
  const shown = useMemo(() => {
    const out = [];
    for (const r of rows) {
      if (filter && r.step.state !== filter) continue;
      out.push(r);
      if (out.length > limit) break;
    }
    return out;
  }, [rows, filter, limit]);
  const matching = filter ? counts[filter] ?? 0 : rows.length;
  const visible = shown.slice(0, limit);
  const hidden = matching - visible.length;
  const id = `filter-${node.step.path.replace(/[^\w-]/g, '_')}`;
  const pad = indent(node.depth + 1);
  const states = ORDER.filter((s) => counts[s]).concat(Object.keys(counts).filter((s) => !ORDER.includes(s)));
  return html`<tr class="items-bar">
      <td colspan="6" style=${pad}>
        <label for=${id}>Item steps of ${node.step.id}, by state:</label>
        <select id=${id} value=${filter} onChange=${(e) => { setFilter(e.currentTarget.value); setLimit(ITEM_PAGE); }}>
          <option value="">all (${rows.length.toLocaleString('en-US')})</option>
          ${states.map((s) => html`<option value=${s}>${s} (${counts[s].toLocaleString('en-US')})</option>`)}
        </select>
        ${filter && !counts[filter] ? html`<span class="muted"> none ${filter} now</span>` : null}
      </td>
    </tr>
    ${visible.map((r) => html`<${NodeRows} key=${r.step.path} node=${r} now=${now} />`)}
    ${hidden > 0
      ? html`<tr class="more"><td colspan="6" style=${pad}>
          <button type="button" onClick=${() => setLimit((l) => l + ITEM_PAGE * 4)}>Show ${Math.min(hidden, ITEM_PAGE * 4).toLocaleString('en-US')} more</button>
          <span class="muted"> ${hidden.toLocaleString('en-US')} not shown</span>
        </td></tr>`
      : null}`;
}

/** The whole step tree as one table; only what is on screen is in the DOM. */
export function StepTree({ steps, now }) {
  const roots = useMemo(() => buildTree(steps ?? []), [steps]);
  if (!steps?.length) return html`<p class="muted">No steps have started yet.</p>`;
  return html`<div class="table-wrap"><table class="steps">
    <caption class="sr-only">Steps of the run</caption>
    <thead><tr><th scope="col">Step</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Details</th></tr></thead>
    <tbody>${roots.map((n) => html`<${NodeRows} key=${n.step.path} node=${n} now=${now} />`)}</tbody>
  </table></div>`;
}
