/**
 * Jinja2 syntax of a play file, checked when the file is loaded (host.inventory), so a typo in
 * a `when:` or a module argument is reported at its line and column before any host is touched.
 */
import { jinjaSyntaxProblem } from './jinja';
import { BLOCK_PARTS } from './play-schema';

type Path = (string | number)[];
const BARE = ['when', 'changed_when', 'failed_when', 'until'];

export function playJinjaProblems(play: unknown): { path: Path; message: string }[] {
  const out: { path: Path; message: string }[] = [];
  const text = (v: unknown, path: Path) => {
    if (typeof v === 'string') {
      if (v.includes('{{') || v.includes('{%')) {
        const p = jinjaSyntaxProblem(v, 'text');
        if (p) out.push({ path, message: p });
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => text(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) text(x, [...path, k]);
  };
  const bare = (v: unknown, path: Path) => {
    for (const [i, one] of (Array.isArray(v) ? v : [v]).entries()) {
      if (typeof one !== 'string') continue;
      const at = Array.isArray(v) ? [...path, i] : path;
      if (one.includes('{{')) text(one, at);
      else {
        const p = jinjaSyntaxProblem(one, 'expression');
        if (p) out.push({ path: at, message: p });
      }
    }
  };
  if (!play || typeof play !== 'object' || Array.isArray(play)) return out;
  const p = play as Record<string, unknown>;
  text(p.vars, ['vars']);
  const walk = (tasks: unknown, path: Path): void => {
    if (!Array.isArray(tasks)) return;
    tasks.forEach((t, i) => {
      if (!t || typeof t !== 'object' || Array.isArray(t)) return;
      for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
        const at = [...path, i, k];
        if ('block' in t && (BLOCK_PARTS as readonly string[]).includes(k)) walk(v, at);
        else if (BARE.includes(k)) bare(v, at);
        else if (k === 'loop' && typeof v === 'string' && !v.includes('{{')) bare(v, at);
        else if (k !== 'name' && k !== 'tags' && k !== 'loop_control') text(v, at);
      }
    });
  };
  for (const list of ['tasks', 'handlers'] as const) walk(p[list], [list]);
  return out;
}
