/** Poll until `fn` gives a truthy value, or fail after `ms` naming what was awaited. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms = 20_000,
  o: { ignoreErrors?: boolean; intervalMs?: number } = {},
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = await fn();
    } catch (e) {
      // A query against a run that is not there yet, or a worker that is restarting: try again.
      if (!o.ignoreErrors) throw e;
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
}
