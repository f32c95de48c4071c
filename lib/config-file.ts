/**
 * Worker-side YAML configuration files the operator writes (approvers, access policy): read,
 * parse (duplicate keys and alias bombs refused) and check against their zod schema. Any problem
 * is thrown as the caller's error type, one line, naming the file: such a file never "allows all".
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

export function readYamlConfig<S extends z.ZodTypeAny>(file: string, what: string, schema: S, fail: (message: string) => Error): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    throw fail(`${what} ${file}: cannot read (${e.code ?? e.message})`);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw fail(`${what} ${file}: ${doc.errors[0].message.split('\n')[0]}`);
  const parsed = schema.safeParse(doc.toJS({ maxAliasCount: 50 }) ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw fail(`${what} ${file}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return parsed.data;
}
