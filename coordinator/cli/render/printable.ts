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

// JSON.stringify leaves DEL, C1 controls (U+009B is a CSI), Cf, Zl and Zp raw. Outside its strings a
// JSON text is ASCII, so each is inside a string, where its \uHHHH escape means the same.
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/u;
const RAW_IN_JSON_ALL = new RegExp(RAW_IN_JSON.source, 'gu');

/**
 * `JSON.stringify(value, null, indent)` that a terminal shows as it is: every character it would act
 * on or hide is written as a \uHHHH escape. The document parses to exactly the same values.
 */
export function printableJson(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  if (!RAW_IN_JSON.test(json)) return json;
  // One escape per UTF-16 unit: a tag character (U+E0000 on) is written as its surrogate pair.
  return json.replace(RAW_IN_JSON_ALL, (character) => character.split('').map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''));
}
