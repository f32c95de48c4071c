// Runwright console: a hash-routed single page over the HTTP API (/api/v1), live by polling.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html, api, token, useRoute, ErrorBox } from './lib.js';
import { RunsPage } from './runs.js';
import { RunPage } from './run.js';
import { DrillPage } from './drill.js';
import { SchedulesPage } from './schedules.js';
import { CatalogPage, RunbookPage } from './catalog.js';

const NAV = [
  ['runs', '#/runs', 'Runs'],
  ['schedules', '#/schedules', 'Schedules'],
  ['catalog', '#/catalog', 'Runbooks'],
];

function TokenForm({ onDone, error }) {
  const [value, setValue] = useState('');
  return html`<form class="token-form" onSubmit=${(e) => { e.preventDefault(); token.set(value.trim()); onDone(); }}>
    <h1>Sign in</h1>
    <p>This console needs an API token.</p>
    <${ErrorBox} error=${error} />
    <label for="token">Token</label>
    <input id="token" type="password" autocomplete="off" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
    <button type="submit" class="primary">Sign in</button>
  </form>`;
}

function Page({ route, me }) {
  switch (route.page) {
    case 'runs':
      return route.id ? html`<${RunPage} key=${route.id} id=${route.id} me=${me} />` : html`<${RunsPage} query=${route.query} />`;
    case 'drills':
      return route.id ? html`<${DrillPage} key=${route.id} id=${route.id} />` : html`<h1>Drill reports</h1><p>Open a drill from its run page, or go to <code>#/drills/RUN-ID</code>.</p>`;
    case 'schedules':
      return html`<${SchedulesPage} />`;
    case 'catalog':
      return route.id ? html`<${RunbookPage} key=${route.id} name=${route.id} />` : html`<${CatalogPage} />`;
    default:
      return html`<h1>Not found</h1><p>No page <code>${location.hash}</code>. <a href="#/runs">Runs</a></p>`;
  }
}

const TITLES = { runs: 'Runs', schedules: 'Schedules', catalog: 'Runbooks', drills: 'Drill report' };

function App() {
  const route = useRoute();
  const [me, setMe] = useState(null);
  const [meError, setMeError] = useState(null);
  const [attempt, setAttempt] = useState(0);
  const main = useRef(null);
  const first = useRef(true);
  useEffect(() => {
    api('/me').then(
      (m) => {
        setMe(m);
        setMeError(null);
      },
      (e) => setMeError(e),
    );
  }, [attempt]);
  // On navigation: a fresh title, and focus to the page so keyboard and screen-reader users start there.
  useEffect(() => {
    document.title = `${TITLES[route.page] ?? 'Runwright'} — Runwright`;
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
    scrollTo(0, 0);
  }, [route.page, route.id]);
  const needsToken = meError?.status === 401;
  return html`<a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); main.current?.focus(); }}>Skip to content</a>
    <header class="top">
      <nav aria-label="Main">
        <a class="brand" href="#/runs">Runwright</a>
        <ul>
          ${NAV.map(([key, href, label]) => html`<li><a href=${href} aria-current=${route.page === key ? 'page' : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <div class="me">
        ${me ? html`Signed in as <strong>${me.user}</strong> <span class="muted">(${me.mode === 'token' ? 'token' : 'local'}${me.gateway ? ', via gateway' : ''})</span>` : meError && !needsToken ? html`<span class="bad">not signed in: ${meError.message}</span>` : null}
        ${me?.mode === 'token' && token.get() ? html` <button type="button" class="small" onClick=${() => { token.set(''); setMe(null); setAttempt((a) => a + 1); }}>Sign out</button>` : null}
      </div>
    </header>
    <main id="main" ref=${main} tabindex="-1">
      ${needsToken ? html`<${TokenForm} error=${token.get() ? meError : null} onDone=${() => setAttempt((a) => a + 1)} />` : html`<${Page} route=${route} me=${me} />`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
