/**
 * Values the runbook hands to Ansible are data. They travel in files (never on the command
 * line), and every string is written with Ansible's `!unsafe` tag, so Jinja never evaluates it:
 * a param holding `{{ lookup('pipe', 'id') }}` reaches the playbook as that text. Variables that
 * change how Ansible connects or what it executes on the worker (`ansible_connection`,
 * `ansible_ssh_common_args`, `ansible_*_executable`, …) are refused in extra vars and inline
 * inventories; a value that would become an ssh option (a host or user starting with `-`) too.
 */
import { z } from 'zod';

/** ansible_* variables a runbook may set, with what their values must look like. */
const ALLOWED_MAGIC: Record<string, (v: unknown) => string | undefined> = {
  ansible_host: (v) => (typeof v === 'string' && /^[A-Za-z0-9_.:%\[\]]+(?:-[A-Za-z0-9_.:%\[\]]+)*$/.test(v) ? undefined : 'a host name or address'),
  ansible_port: (v) => (Number.isInteger(Number(v)) && Number(v) > 0 && Number(v) < 65536 ? undefined : 'a port number'),
  ansible_user: (v) => (typeof v === 'string' && /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/.test(v) ? undefined : 'a user name'),
  ansible_become: (v) => (typeof v === 'boolean' || v === 'true' || v === 'false' || v === 'yes' || v === 'no' ? undefined : 'true or false'),
  ansible_become_user: (v) => (typeof v === 'string' && /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/.test(v) ? undefined : 'a user name'),
  ansible_become_method: (v) => (typeof v === 'string' && /^[A-Za-z0-9_.]+$/.test(v) ? undefined : 'a become plugin name'),
  ansible_python_interpreter: (v) => (typeof v === 'string' && /^[A-Za-z0-9_./+-]+$/.test(v) && !v.startsWith('-') ? undefined : 'a path or auto'),
};

/** Why a variable may not be set by a runbook (where: "extraVars", "inventory group web"), or undefined. */
export function varProblem(name: string, value: unknown, where: string): string | undefined {
  const n = name.toLowerCase();
  if (!n.startsWith('ansible_')) return undefined;
  const check = ALLOWED_MAGIC[n];
  if (!check)
    return `${where}: ${name} is refused: it changes how Ansible connects or what it runs on the worker; set it in the playbook folder's inventory or ansible.cfg (allowed here: ${Object.keys(ALLOWED_MAGIC).join(', ')}; the key and passwords: privateKey, becomePassword)`;
  const bad = check(value);
  return bad ? `${where}: ${name} must be ${bad}, got ${JSON.stringify(value)?.slice(0, 80)}` : undefined;
}

/** Problems with the variables of a mapping (not recursive: only top-level names are variables). */
export function varsProblems(vars: Record<string, unknown> | null | undefined, where: string): string[] {
  return Object.entries(vars ?? {}).flatMap(([k, v]) => varProblem(k, v, where) ?? []);
}

const HOST_NAME = /^[A-Za-z0-9_.:%\[\]]+(?:-[A-Za-z0-9_.:%\[\]]+)*$/;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type InlineGroup = { hosts?: Record<string, Record<string, unknown> | null> | null; vars?: Record<string, unknown> | null; children?: Record<string, InlineGroup | null> | null };

const Vars = z.record(z.string(), z.unknown());
export const InlineGroupSchema: z.ZodType<InlineGroup> = z.lazy(() =>
  z.strictObject({
    hosts: z.record(z.string(), Vars.nullable()).nullable().optional(),
    vars: Vars.nullable().optional(),
    children: z.record(z.string(), InlineGroupSchema.nullable()).nullable().optional(),
  }),
);
/** An inventory written in the step: Ansible's YAML inventory shape (groups → hosts, vars, children). */
export const InlineInventory = z
  .record(z.string(), InlineGroupSchema.nullable())
  .refine((v) => Object.keys(v).length > 0, 'an inline inventory needs at least one group (e.g. all: {hosts: {web1: {ansible_host: 10.0.0.5}}})')
  .describe('Inline inventory, as Ansible YAML: {all|<group>: {hosts: {name: {vars}}, vars: {…}, children: {<group>: …}}}');

/** Problems of an inline inventory: names that are not host or group names, refused variables. */
export function inventoryProblems(inv: Record<string, InlineGroup | null>): string[] {
  const out: string[] = [];
  const walk = (name: string, g: InlineGroup | null, depth: number) => {
    if (!GROUP_NAME.test(name)) out.push(`inventory: group name ${JSON.stringify(name)}: letters, digits and _ only, not starting with a digit`);
    if (!g || depth > 20) return;
    out.push(...varsProblems(g.vars, `inventory group ${name} vars`));
    for (const [h, vars] of Object.entries(g.hosts ?? {})) {
      if (!HOST_NAME.test(h)) out.push(`inventory: host name ${JSON.stringify(h)} in group ${name}: letters, digits, . _ : % [ ] and inner -, nothing else`);
      out.push(...varsProblems(vars, `inventory host ${h}`));
    }
    for (const [c, cg] of Object.entries(g.children ?? {})) walk(c, cg, depth + 1);
  };
  for (const [name, g] of Object.entries(inv)) walk(name, g, 0);
  return out;
}

// ---- writing: YAML with every string !unsafe ---------------------------------------------

/** A double-quoted YAML scalar PyYAML reads back exactly: non-printable characters escaped. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd'; // a lone surrogate: not text
    else if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    // YAML line breaks (U+2028/2029) inside quotes would be folded: escaped, like controls.
    else if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff && c !== 0x2028 && c !== 0x2029) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff) || c >= 0x10000) out += ch;
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return 'null';
    // PyYAML (YAML 1.1) reads "1e+21" as a string: tag anything that is not a plain integer.
    return Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : `!!float ${JSON.stringify(v)}`;
  }
  return `!unsafe ${quote(String(v))}`;
}

/** A JSON-like value as flow-style YAML in which no string is ever templated by Ansible. */
export function unsafeYaml(v: unknown, depth = 0): string {
  if (depth > 100) throw new Error('value nested too deeply');
  if (Array.isArray(v)) return `[${v.map((x) => unsafeYaml(x, depth + 1)).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${quote(k)}: ${unsafeYaml(x, depth + 1)}`).join(', ')}}`;
  return scalar(v);
}
