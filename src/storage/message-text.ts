/**
 * What a queue message body may contain.
 *
 * Azure Storage carries a message inside an XML request ("a message must be in a format that can be included
 * in an XML request with UTF-8 encoding", Put Message), and the queue SDK sends the text as is (no base64
 * unless asked). XML 1.0 allows only tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD and paired surrogates.
 * Azure refuses any other character with 400 InvalidXmlDocument; Azurite accepts it, then answers 500 to
 * every receive or peek whose batch holds it, after hiding that whole batch: the message and its neighbours
 * stay counted but are never returned. So such a text must never be sent.
 */

/** Characters XML 1.0 cannot carry: C0 controls but tab/LF/CR, U+FFFE, U+FFFF, and unpaired surrogates. */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The first character of `text` that a queue message cannot carry, with its offset; undefined if none. */
export function firstNonXmlChar(text: string): { offset: number; char: string } | undefined {
  NOT_XML.lastIndex = 0;
  const m = NOT_XML.exec(text);
  return m ? { offset: m.index, char: `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}` } : undefined;
}

/** A text refused because storage could not carry it; the message says which character and where. */
export class UnsendableTextError extends Error {
  constructor(
    readonly offset: number,
    readonly char: string,
  ) {
    super(`the body has ${char} at offset ${offset}, which a queue message cannot carry (not XML 1.0 text) and it is not a JSON text in which that character could be escaped`);
    this.name = "UnsendableTextError";
  }
}

/**
 * The text to send for `text`: itself when XML-safe. Otherwise, if it is JSON whose disallowed characters
 * all stand inside strings, the same JSON with each escaped as `\u00XX` — a strict JSON parser then reads
 * exactly the string a lenient one (Python's json.loads(strict=False)) reads from the original, and the
 * escapes are those of json.dumps. Outside a string such an escape is not JSON, so the parse check below
 * also proves every replaced character was inside one. Anything else is refused with UnsendableTextError.
 */
export function queueText(text: string): string {
  const bad = firstNonXmlChar(text);
  if (!bad) return text;
  let afterBackslash = false;
  const escaped = text.replace(NOT_XML, (c, offset: number) => {
    // After an odd run of backslashes the character was an (invalid) escape, and `\u…` would change meaning.
    let run = 0;
    for (let i = offset - 1; i >= 0 && text.charCodeAt(i) === 0x5c; i--) run++;
    if (run % 2 === 1) afterBackslash = true;
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  if (afterBackslash) throw new UnsendableTextError(bad.offset, bad.char);
  try {
    JSON.parse(escaped);
    return escaped;
  } catch {
    throw new UnsendableTextError(bad.offset, bad.char);
  }
}
