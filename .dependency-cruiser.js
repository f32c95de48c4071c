/**
 * The layers of ARCHITECTURE.md, enforced (`npm run lint:deps`, part of `npm test`).
 * Bottom to top: dsl → lib → workflows → activities → workers → client → integrations, api → cli.
 * A layer imports only layers below it; `import type` is free where noted (types cost nothing
 * at run time and keep one source of truth for shapes shared across a boundary).
 */
const layer = (name, mayNotImport, extra = {}) => ({
  name: `${name}-imports-down-only`,
  severity: 'error',
  comment: `${name}/ must not import ${mayNotImport.join(', ')} (ARCHITECTURE.md, layers)`,
  from: { path: `^${name}/` },
  to: { path: `^(${mayNotImport.join('|')})/`, ...extra },
});

/**
 * workflows/definitions.ts is the contract between the interpreter and everything that talks to
 * it: activity, query, update and signal names and the shapes they carry. Activities and clients
 * import it; the language may use its types.
 */
const CONTRACT = '^workflows/definitions\\.ts$';
const ABOVE_LIB = ['workflows', 'activities', 'workers', 'client', 'integrations', 'api', 'cli', 'sim'];

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'import cycles hide the layering', from: {}, to: { circular: true, dependencyTypesNot: ['type-only'] } },
    layer('dsl', ['lib', ...ABOVE_LIB], { pathNot: CONTRACT }),
    {
      name: 'dsl-uses-contract-types-only',
      severity: 'error',
      comment: 'the language may name the shapes of workflows/definitions.ts (type-only), nothing else above it',
      from: { path: '^dsl/' },
      to: { path: CONTRACT, dependencyTypesNot: ['type-only'] },
    },
    // lib may name shapes defined above it (type-only), never run their code.
    layer('lib', ABOVE_LIB, { dependencyTypesNot: ['type-only'] }),
    // Workflow code is bundled and deterministic: besides the language, only types from lib.
    layer('workflows', ['activities', 'workers', 'client', 'integrations', 'api', 'cli', 'sim']),
    {
      name: 'workflows-use-lib-types-only',
      severity: 'error',
      comment: 'workflow code may only import types from lib/ (no I/O, no Node modules in the bundle)',
      from: { path: '^workflows/' },
      to: { path: '^lib/', dependencyTypesNot: ['type-only'] },
    },
    layer('activities', ['workers', 'client', 'integrations', 'api', 'cli', 'sim']),
    layer('activities', ['workflows'], { dependencyTypesNot: ['type-only'], pathNot: CONTRACT }),
    layer('workers', ['client', 'integrations', 'api', 'cli', 'sim']),
    layer('client', ['workers', 'integrations', 'api', 'cli', 'sim']),
    layer('integrations', ['api', 'cli', 'sim']),
    // The console's HTTP API: a client of the run like the CLI and Slack, beside them.
    layer('api', ['workers', 'integrations', 'cli', 'sim']),
    // The stand-ins are separate programs: they share nothing with the product.
    layer('sim', ['dsl', 'lib', 'workflows', 'activities', 'workers', 'client', 'integrations', 'api', 'cli']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench|scripts|tools)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
