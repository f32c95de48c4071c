/**
 * Which worker files a play may read (activities/host/worker-files.ts): never the worker's secrets,
 * data folder, key folders or /proc; copy/template `src` only inside the play's folders.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playReadable } from '../../activities/host/worker-files';
import { loadPlayFile } from '../../activities/host/inventory';
import { loadInventory } from '../../activities/host/inventory-files';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rw-worker-files-'));
  for (const d of ['play/templates', 'secrets', 'home/.runwright', 'home/.ssh', 'extra']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['play/templates/a.j2', 'secrets/token', 'home/.runwright/codec.key', 'home/.ssh/id_ed25519', 'extra/b.txt', 'policy-file-secret', 'outside.txt']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(dir, 'policy.yaml'), `secrets:\n  db: { ref: "file:${join(dir, 'policy-file-secret')}", runbooks: ["*"] }\n`);
  symlinkSync(join(dir, 'secrets/token'), join(dir, 'play/templates/token.j2'));
  env = { RUNWRIGHT_SECRET_DIRS: join(dir, 'secrets'), RUNWRIGHT_HOME: join(dir, 'home/.runwright'), RUNWRIGHT_SECRETS_POLICY: join(dir, 'policy.yaml') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each([
  ['/proc/self/environ', undefined, /the kernel's files/],
  ['/proc/1/cmdline', undefined, /the kernel's files/],
  ['secrets/token', undefined, /a secret folder \(RUNWRIGHT_SECRET_DIRS\)/],
  ['play/templates/token.j2', undefined, /a secret folder/],
  ['play/templates/../../secrets/token', undefined, /a secret folder/],
  ['home/.runwright/codec.key', undefined, /the worker's data folder/],
  ['home/.ssh/id_ed25519', undefined, /a key folder of the worker/],
  ['policy.yaml', undefined, /the secrets policy/],
  ['policy-file-secret', undefined, /secret db/],
  ['outside.txt', ['play'], /outside the folders a play may read on the worker/],
  ['extra/b.txt', [], /outside the folders a play may read on the worker \(none\)/],
])('refused: %s', (rel, roots, why) => {
  const path = rel.startsWith('/') ? rel : join(dir, rel);
  expect(() => playReadable(path, 'src', roots?.map((r) => join(dir, r)), env)).toThrow(why);
});

test('allowed: inside the play folder, or a folder the operator named; anywhere else not forbidden when no roots apply', () => {
  expect(playReadable(join(dir, 'play/templates/a.j2'), 'src', [join(dir, 'play')], env)).toBe(join(dir, 'play/templates/a.j2'));
  expect(playReadable(join(dir, 'extra/b.txt'), 'src', [], { ...env, RUNWRIGHT_PLAY_FILE_DIRS: join(dir, 'extra') })).toBe(join(dir, 'extra/b.txt'));
  expect(playReadable(join(dir, 'outside.txt'), 'play file', undefined, env)).toBe(join(dir, 'outside.txt'));
});

test('a play file that is not a mapping says so (it was "Unrecognized keys: 0, 1, …"); /proc is refused', () => {
  const f = join(dir, 'text.yml');
  writeFileSync(f, 'just some text\n');
  expect(() => loadPlayFile(f)).toThrow(/text.yml:1:1: expected a play: a mapping with tasks .*got text/);
  expect(() => loadPlayFile('/proc/self/environ')).toThrow(/play file \/proc\/self\/environ: the kernel's files/);
});

test("an inventory named by a run param is never one of the worker's secrets", () => {
  expect(() => loadInventory('/proc/self/environ')).toThrow(/inventory \/proc\/self\/environ: the kernel's files/);
  const prev = process.env.RUNWRIGHT_SECRET_DIRS;
  process.env.RUNWRIGHT_SECRET_DIRS = join(dir, 'secrets');
  try {
    expect(() => loadInventory(join(dir, 'secrets/token'))).toThrow(/a secret folder/);
  } finally {
    if (prev === undefined) delete process.env.RUNWRIGHT_SECRET_DIRS;
    else process.env.RUNWRIGHT_SECRET_DIRS = prev;
  }
});
