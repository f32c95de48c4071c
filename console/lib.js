// Shared pieces of the console: the html tag, the API client, live polling, routes, formatting.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export const API = '/api/v1';
export const POLL_MS = 1000;

/** An API error: `{ error: { message, details? } }`, or for decisions `{ status, message }`. */
export class ApiError extends Error {
  constructor(message, status, details = [], body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.details = details;
    this.body = body;
  }
}

function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorFrom(res, text) {
  const body = parse(text);
  const message = body?.error?.message ?? body?.message ?? (text && text.length < 300 && !text.startsWith('<') ? text : `${res.status} ${res.statusText || 'error'}`);
  const details = Array.isArray(body?.error?.details) ? body.error.details : [];
  return new ApiError(String(message), res.status, details, body);
}

function headers(json) {
  const h = { accept: 'application/json' };
  if (json) h['content-type'] = 'application/json';
  return h;
}

/** Token mode: the sign-in cookie is missing or no longer valid: sign in again (the server's page). */
function signInAgain(status) {
  if (status === 401 && location.pathname !== '/login') location.assign('/login');
}

/** One API call; resolves to the parsed JSON body, rejects with an ApiError. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const res = await fetch(API + path, {
    method,
    signal,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  if (!res.ok) {
    signInAgain(res.status);
    throw errorFrom(res, text);
  }
  return parse(text);
}

/** Path segments are encoded one by one: ids may hold any character. */
export const enc = (s) => encodeURIComponent(String(s));

/**
 * Live data: GET `path` now and every `interval` ms while the tab is visible (paused while
 * document.hidden, fetched again as soon as it is shown). A response identical to the last one
 * causes no render. A failed poll keeps the last data and reports the error beside it.
 * `keep`: keep showing the previous path's data while the new path loads (filters).
 */
export function usePoll(path, { interval = POLL_MS, keep = false } = {}) {
  const [state, setState] = useState({ data: undefined, error: undefined, at: 0 });
  const kick = useRef(() => {});
  useEffect(() => {
    if (!path) return undefined;
    let stopped = false;
    let timer;
    let ctrl;
    let inflight = false;
    let again = false;
    let last = null;
    if (!keep) setState({ data: undefined, error: undefined, at: 0 });
    const schedule = () => {
      clearTimeout(timer);
      if (!stopped && interval > 0 && !document.hidden) timer = setTimeout(run, interval);
    };
    async function run() {
      if (stopped) return;
      if (inflight) {
        again = true;
        return;
      }
      clearTimeout(timer);
      if (document.hidden && last !== null) return; // resumed by visibilitychange
      inflight = true;
      ctrl = new AbortController();
      try {
        const res = await fetch(API + path, { headers: headers(false), signal: ctrl.signal, credentials: 'same-origin', cache: 'no-store' });
        const text = await res.text();
        if (stopped) return;
        if (!res.ok) {
          signInAgain(res.status);
          throw errorFrom(res, text);
        }
        if (text !== last) {
          last = text;
          setState({ data: parse(text), error: undefined, at: Date.now() });
        } else setState((s) => (s.error ? { ...s, error: undefined, at: Date.now() } : s));
      } catch (e) {
        if (stopped || e?.name === 'AbortError') return;
        const err = e instanceof ApiError ? e : new ApiError(`cannot reach the console server (${e?.message ?? e})`, 0);
        setState((s) => ({ ...s, error: err }));
      } finally {
        inflight = false;
      }
      if (again) {
        again = false;
        run();
      } else schedule();
    }
    const onVisible = () => {
      if (!document.hidden && !stopped) run();
    };
    kick.current = run;
    document.addEventListener('visibilitychange', onVisible);
    run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctrl?.abort();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [path, interval]);
  return { ...state, loading: state.data === undefined && !state.error, refresh: () => kick.current() };
}

/** A clock for live durations: the current time, every `ms` while `live` and the tab is visible. */
export function useNow(live, ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!live) return undefined;
    const t = setInterval(() => {
      if (!document.hidden) setNow(Date.now());
    }, ms);
    return () => clearInterval(t);
  }, [live, ms]);
  return now;
}

// ---------------------------------------------------------------------------------------------
// Routes: #/runs, #/runs/<id>, #/drills/<id>, #/schedules, #/catalog, #/catalog/<name>

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const segs = pathPart.split('/').filter(Boolean);
  const page = segs[0] || 'runs';
  const rest = segs.slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { page, id: rest.length ? rest.join('/') : undefined, query: new URLSearchParams(queryPart) };
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseHash());
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const runHref = (id) => `#/runs/${enc(id)}`;
export const drillHref = (id) => `#/drills/${enc(id)}`;
export const runbookHref = (name) => `#/catalog/${enc(name)}`;

// ---------------------------------------------------------------------------------------------
// Formatting

const pad = (n) => String(n).padStart(2, '0');

/** Local time as YYYY-MM-DD HH:MM:SS (a day's times: HH:MM:SS only when `short` and today). */
export function fmtTime(iso, { short = false } = {}) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const now = new Date();
  if (short && d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** A time for people (local), with the exact UTC instant on hover and for machines. */
export function Time({ iso, short = false }) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return html`<time datetime=${d.toISOString()} title=${`${d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (UTC)`}>${fmtTime(iso, { short })}</time>`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const neg = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return `${neg}${Math.round(ms)} ms`;
  if (ms < 10_000) return `${neg}${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${neg}${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${neg}${Math.floor(s / 60)} m ${pad(s % 60)} s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${neg}${hours} h ${pad(Math.floor((s % 3600) / 60))} m`;
  return `${neg}${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Duration between two ISO times; a running thing (no end) counts up to `now`. */
export function duration(start, end, now = Date.now()) {
  if (!start) return null;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, b - a) : null;
}

/** "in 12 m 03 s" / "4 m 10 s ago". */
export function relative(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const d = t - now;
  return d >= 0 ? `in ${fmtMs(d)}` : `${fmtMs(-d)} ago`;
}

export const shortHash = (h) => (h ? String(h).slice(0, 12) : '—');

export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export const plural = (n, one, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------------------------
// Small shared components

/** A state as a labelled badge (colour plus text, never colour alone). */
export function StateBadge({ state }) {
  const s = String(state ?? 'unknown').toLowerCase();
  return html`<span class=${`badge st-${s.replace(/[^a-z-]/g, '')}`}>${s}</span>`;
}

/** A problem, announced to screen readers. */
export function ErrorBox({ error, title }) {
  if (!error) return null;
  const details = error.details ?? [];
  const msg = String(error.message ?? error);
  // "Refused: refused: …" says it twice.
  const lead = title && !msg.toLowerCase().startsWith(title.toLowerCase()) ? title : null;
  return html`<div class="error-box" role="alert">
    ${lead ? html`<strong>${lead}: </strong>` : null}${msg}
    ${details.length ? html`<ul>${details.map((d) => html`<li>${d}</li>`)}</ul>` : null}
  </div>`;
}

/** Shown beside live data whose latest poll failed: the data on screen is as old as the time given. */
export function StaleNote({ error, at }) {
  if (!error) return null;
  return html`<p class="stale" role="status">Live updates failing: ${error.message}${at ? ` (showing data from ${fmtTime(new Date(at).toISOString(), { short: true })})` : ''}</p>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="muted" role="status">${what}…</p>`;
}

/** JSON, stringified only when opened (step outputs can be megabytes). */
export function LazyJson({ value, summary = 'outputs', limit = 20_000 }) {
  const [open, setOpen] = useState(false);
  let text = '';
  if (open) {
    try {
      text = JSON.stringify(value, null, 2) ?? 'null';
    } catch (e) {
      text = `(cannot show: ${e.message})`;
    }
    if (text.length > limit) text = `${text.slice(0, limit)}\n… ${(text.length - limit).toLocaleString('en-US')} more characters`;
  }
  return html`<details class="json" onToggle=${(e) => setOpen(e.currentTarget.open)}>
    <summary>${summary}</summary>
    ${open ? html`<pre>${text}</pre>` : null}
  </details>`;
}
