import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleKey } from '../../workers/bundle';

// The disk-cached workflow bundle is only as safe as its key: any source the bundle can contain
// must change it, and nothing else should (or every worker start rebuilds).
let root: string;
const write = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
};
const key = () => bundleKey(path.join(root, 'workflows', 'index.ts'));

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rw-bundle-key-'));
  write('package.json', '{}');
  write('package-lock.json', '{"lockfileVersion":3}');
  write('workflows/index.ts', 'export * from "./interpreter";');
  write('workflows/interpreter.ts', 'export async function run() {}');
  write('dsl/expr.ts', 'export const a = 1;');
  write('lib/config.ts', 'export const b = 2;');
  write('activities/http.ts', 'export const c = 3;');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test.each(['workflows/interpreter.ts', 'dsl/expr.ts', 'lib/config.ts', 'package-lock.json'])('an edit to %s changes the key', (file) => {
  const before = key();
  write(file, `${fs.readFileSync(path.join(root, file), 'utf8')}\n// edited`);
  expect(key()).not.toBe(before);
});

test('a new file in a layer changes the key', () => {
  const before = key();
  write('dsl/nested/new.ts', 'export {}');
  expect(key()).not.toBe(before);
});

test('an edit outside the layers workflow code may import (activities/) keeps the key', () => {
  const before = key();
  write('activities/http.ts', 'export const c = 4;');
  expect(key()).toBe(before);
});

test('the failure converter is part of the key', () => {
  write('lib/failure.ts', 'x');
  expect(bundleKey(path.join(root, 'workflows', 'index.ts'), path.join(root, 'lib', 'failure.ts'))).not.toBe(key());
});
