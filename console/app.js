// Runwright console: a hash-routed single page over the HTTP API (/api/v1), live by polling.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html, api, useRoute } from './lib.js';
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
  const signing = { 'own-key': 'requests signed with your key', gateway: 'signed by the console for you', none: 'unsigned requests' }[me?.signing] ?? '';
  async function signOut() {
    await api('/logout', { method: 'POST', body: {} }).catch(() => undefined);
    location.assign('/login');
  }
  return html`<a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); main.current?.focus(); }}>Skip to content</a>
    <header class="top">
      <nav aria-label="Main">
        <a class="brand" href="#/runs">Runwright</a>
        <ul>
          ${NAV.map(([key, href, label]) => html`<li><a href=${href} aria-current=${route.page === key ? 'page' : undefined}>${label}</a></li>`)}
        </ul>
      </nav>
      <div class="me">
        ${me
          ? html`<span title=${signing}>${me.mode === 'token' ? 'Signed in as' : 'Acting as'} <strong>${me.user}</strong> <span class="muted">(${me.mode === 'token' ? 'token' : 'local mode'}${signing ? `, ${signing}` : ''})</span></span>`
          : meError
            ? html`<span class="bad">${meError.message}</span> <button type="button" class="small" onClick=${() => setAttempt((a) => a + 1)}>Retry</button>`
            : null}
        ${me?.mode === 'token' ? html` <button type="button" class="small" onClick=${signOut}>Sign out</button>` : null}
      </div>
    </header>
    <main id="main" ref=${main} tabindex="-1">
      <${Page} route=${route} me=${me} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
