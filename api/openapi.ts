/**
 * The OpenAPI 3.1 document of the console API, generated from the route table and its zod
 * schemas (api/app.ts, api/schemas.ts): never written by hand.
 */
import { z } from 'zod';
import { ROUTES } from './app';
import { ErrorBody } from './schemas';

const json = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const parameters: Record<string, unknown>[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = json(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) parameters.push({ name, in: 'query', required: (q.required ?? []).includes(name), schema });
    }
    const ok = String(r.status ?? 200);
    paths[`/api/v1${r.path}`] ??= {};
    paths[`/api/v1${r.path}`][r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(r.body, 'input') } } } } : {}),
      responses: {
        [ok]: { description: 'OK', content: { [r.produces ?? 'application/json']: { schema: r.produces ? { type: 'string' } : json(r.response, 'output') } } },
        default: { description: 'An error, with the message the CLI gives', content: { 'application/json': { schema: json(ErrorBody, 'output') } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Runwright console API', version, description: 'Runs, approvals, schedules, drill reports and the runbook catalog. Same checks and messages as the runwright CLI.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A console token (runwright console token USER); not needed in local mode.' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'runwright_token' },
      },
    },
    security: [{ bearer: [] }, { cookie: [] }, {}],
    paths,
  };
}
