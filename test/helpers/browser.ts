/**
 * Headless Chromium for the console's browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core (no browser downloads). Every page's console errors, uncaught exceptions and
 * failed requests are collected so a test can fail on any; screenshots go to
 * test-output/console/ (a CI artefact); long main-thread tasks are observed from the first paint.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.RUNWRIGHT_CHROMIUM ?? '/usr/bin/chromium';
export const OUTPUT_DIR = resolve(__dirname, '..', '..', 'test-output', 'console');

export interface PageProblem {
  kind: 'console' | 'pageerror' | 'requestfailed';
  text: string;
  url?: string;
}

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests so far (allowed ones left out). */
  problems: PageProblem[];
  /** Expect problems matching `re` (e.g. the 409 of a refused decision) until the returned function is called. */
  allow(re: RegExp): () => void;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** Collects `longtask` entries (PerformanceObserver) into window.__longTasks from the start. */
const LONGTASK_INIT = `
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { window.__longTaskError = String(e); }
`;

export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    await context.addInitScript(LONGTASK_INIT);
    const page = await context.newPage();
    const problems: PageProblem[] = [];
    const allowed = new Set<RegExp>();
    const add = (p: PageProblem) => {
      if ([...allowed].some((re) => re.test(p.text))) return;
      problems.push(p);
    };
    page.on('console', (m) => {
      if (m.type() === 'error') add({ kind: 'console', text: m.text(), url: m.location()?.url });
    });
    page.on('pageerror', (e) => add({ kind: 'pageerror', text: `${e.name}: ${e.message}` }));
    page.on('requestfailed', (r) => {
      const why = r.failure()?.errorText ?? '';
      // Polls cut short by a navigation are not problems.
      if (/ERR_ABORTED/.test(why)) return;
      add({ kind: 'requestfailed', text: `${r.method()} ${r.url()}: ${why}`, url: r.url() });
    });
    return {
      browser,
      context,
      page,
      problems,
      allow(re) {
        allowed.add(re);
        return () => allowed.delete(re);
      },
      async screenshot(name) {
        const file = join(OUTPUT_DIR, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      async close() {
        await context.close().catch(() => undefined);
        await browser.close();
      },
    };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/** The longest main-thread task (ms) since `since` (performance.now() time), and how many there were. */
export async function longTasks(page: Page, since = 0): Promise<{ count: number; maxMs: number; totalMs: number }> {
  return page.evaluate((t0) => {
    const w = globalThis as unknown as { __longTasks?: { start: number; duration: number }[]; __longTaskError?: string };
    if (w.__longTaskError) throw new Error(`longtask observer: ${w.__longTaskError}`);
    const tasks = (w.__longTasks ?? []).filter((x) => x.start >= t0);
    return { count: tasks.length, maxMs: tasks.reduce((m, x) => Math.max(m, x.duration), 0), totalMs: tasks.reduce((s, x) => s + x.duration, 0) };
  }, since);
}
