/**
 * Writes a run's history, as `temporal workflow show --output json` prints it, to a file for the
 * replay test. Stack traces name the checkout that recorded them; that prefix is replaced by
 * `<repo>` so the committed files name no machine's paths (replay never reads stack traces).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..');

export function writeRecordedHistory(cli: string, address: string, workflowId: string, file: string): void {
  const json = String(execFileSync(cli, ['workflow', 'show', '--address', address, '-w', workflowId, '--output', 'json'], { maxBuffer: 64 << 20 }));
  const portable = json.split(REPO + '/').join('<repo>/');
  writeFileSync(file, JSON.stringify({ workflowId, ...JSON.parse(portable) }, null, 1));
}
