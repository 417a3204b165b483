// What a terminal acts on or hides: controls and DEL (Cc), bidi overrides and isolates, zero-width
// characters and the BOM (Cf), line and paragraph separators (Zl, Zp), lone surrogates (Cs).
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu');
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from a host, an agent or Docker as the CLI prints it: every control and invisible formatting
 * character written as an escape (`\x1b`, `\n`, `\u202e`), so that a value can neither drive the
 * terminal nor hide, reorder or break the output around it. Printable text comes back unchanged, and
 * so does a value passed through twice. With `multiline`, line breaks and tabs stay as they are (an
 * error message of several lines); a carriage return is still escaped.
 */
export function printable(text: string, options: { readonly multiline?: boolean } = {}): string {
  if (!UNPRINTABLE.test(text)) return text;
  return text.replace(UNPRINTABLE_ALL, (character) => {
    if (options.multiline && (character === '\n' || character === '\t')) return character;
    return NAMED[character] ?? escapeOf(character.codePointAt(0) as number);
  });
}

function escapeOf(codePoint: number): string {
  const hex = codePoint.toString(16);
  if (codePoint <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  return codePoint <= 0xffff ? `\\u${hex.padStart(4, '0')}` : `\\u{${hex}}`;
}
