/**
 * Hostile strings for the values-are-data property tests: quote characters, command
 * substitutions and separators that would touch `canary`, `{{`, here-document delimiters,
 * control characters, unicode and long strings. Always NUL-free valid UTF-8 (what a shell
 * variable, YAML and a JSON payload can carry).
 */
import fc from 'fast-check';

export function hostile(canary: string, long = 4000): fc.Arbitrary<string> {
  const frag = fc.constantFrom(
    "'", '"', '`', '\\', '$', '$(', ')', `$(touch ${canary})`, `\`touch ${canary}\``, `; touch ${canary};`, `'; touch ${canary}; '`, `"; touch ${canary}; "`, `\n touch ${canary}\n`,
    '\n', '\r\n', '\r', '\t', ' ', '*', '?', '[a]', '~', '#', '&', '|', '>', '<', '{{', '}}', '{{ item }}', '${IFS}', '$HOME', '$1', '-n', '-e', '--', '!', 'EOF', '\nEOF\n',
    'é', '日本', '🦀', '\u202e', '\u00a0', '%s', '%', '\\n', '\x01', '\x7f', `'"\\\``,
  );
  return fc
    .oneof(
      { weight: 5, arbitrary: fc.array(fc.oneof(frag, fc.string({ unit: 'binary', maxLength: 12 })), { maxLength: 12 }).map((a) => a.join('')) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: long / 2, maxLength: long }) },
    )
    .filter((s) => !s.includes('\0') && Buffer.from(s, 'utf8').toString('utf8') === s);
}
