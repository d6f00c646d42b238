/**
 * A small XML parser for the documents debug stubs send (gdb target descriptions): elements,
 * attributes, text, comments, CDATA, processing instructions, a DOCTYPE (with or without an
 * internal subset) and the five predefined entities plus character references. No namespaces
 * are resolved (`xi:include` keeps its prefix in its name), no DTD is read or validated.
 *
 * What it refuses, with the offset: a tag that is not closed, a close tag that does not match,
 * an attribute without a quoted value, an unknown entity, a `--` inside a comment, text outside
 * the root element, a document with no or two root elements.
 */

import { clipped, KdiveError, printable } from '../../errors.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | { text: string };

export class XmlSyntaxError extends KdiveError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    // The message quotes the document, which may hold newlines: one line all the same.
    super(printable(`${message} at offset ${offset}`));
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const SPACE = /[ \t\r\n]*/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Parses a whole document and returns its root element. */
export function parseXml(text: string): XmlElement {
  let pos = 0;
  const fail = (message: string, at = pos): never => {
    throw new XmlSyntaxError(message, at);
  };
  const startsWith = (s: string) => text.startsWith(s, pos);
  const skipPast = (end: string, what: string): string => {
    const at = text.indexOf(end, pos);
    if (at < 0) fail(`unterminated ${what}`);
    const body = text.slice(pos, at);
    pos = at + end.length;
    return body;
  };
  const skipSpace = () => {
    SPACE.lastIndex = pos;
    SPACE.exec(text);
    pos = SPACE.lastIndex;
  };
  const name = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(text);
    if (!m) fail('expected a name');
    pos = NAME.lastIndex;
    return m![0];
  };
  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;&<]*);?/g, (whole, ref: string, index: number) => {
      if (!whole.endsWith(';')) fail('an & that starts no entity reference', at + index);
      if (ref.startsWith('#x')) return codePoint(parseInt(ref.slice(2), 16), /^[0-9a-fA-F]+$/.test(ref.slice(2)), at + index);
      if (ref.startsWith('#')) return codePoint(Number(ref.slice(1)), /^[0-9]+$/.test(ref.slice(1)), at + index);
      const known = ENTITIES[ref];
      if (known === undefined) fail(`unknown entity &${clipped(ref)};`, at + index);
      return known!;
    });
  const codePoint = (n: number, wellFormed: boolean, at: number): string => {
    if (!wellFormed || !(n > 0 && n <= 0x10ffff)) fail('a bad character reference', at);
    return String.fromCodePoint(n);
  };
  const comment = () => {
    const start = pos;
    pos += 4;
    const body = skipPast('-->', 'comment');
    if (body.includes('--') || body.endsWith('-')) fail('"--" inside a comment', start);
  };
  const doctype = () => {
    // <!DOCTYPE name (SYSTEM "..." | PUBLIC "..." "...")? ([ internal subset ])? >
    pos += 9;
    for (let quote: string | undefined, depth = 0; pos < text.length; pos++) {
      const c = text[pos]!;
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === '>' && depth === 0) {
        pos++;
        return;
      }
    }
    fail('unterminated DOCTYPE');
  };
  /** Comments, processing instructions and white space outside the root (and a DOCTYPE before it). */
  const misc = (allowDoctype: boolean) => {
    for (;;) {
      skipSpace();
      if (startsWith('<!--')) comment();
      else if (startsWith('<?')) skipPast('?>', 'processing instruction');
      else if (allowDoctype && startsWith('<!DOCTYPE')) doctype();
      else return;
    }
  };
  const element = (): XmlElement => {
    const open = pos;
    pos++; // <
    const el: XmlElement = { name: name(), attributes: {}, children: [] };
    for (;;) {
      const before = pos;
      skipSpace();
      if (startsWith('/>')) {
        pos += 2;
        return el;
      }
      if (startsWith('>')) {
        pos++;
        break;
      }
      if (pos === before) fail(`expected white space, > or /> in <${el.name}>`);
      const attr = name();
      skipSpace();
      if (text[pos] !== '=') fail(`attribute ${attr} of <${el.name}> has no value`);
      pos++;
      skipSpace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") fail(`the value of ${attr} is not quoted`);
      pos++;
      const valueAt = pos;
      const raw = skipPast(quote!, `value of ${attr}`);
      if (raw.includes('<')) fail(`a < in the value of ${attr}`, valueAt);
      if (attr in el.attributes) fail(`attribute ${attr} given twice`, before);
      el.attributes[attr] = decode(raw, valueAt);
    }
    for (;;) {
      if (pos >= text.length) fail(`<${el.name}> is never closed`, open);
      if (startsWith('</')) {
        pos += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        skipSpace();
        if (text[pos] !== '>') fail(`expected > after </${closing}`);
        pos++;
        return el;
      }
      if (startsWith('<!--')) comment();
      else if (startsWith('<![CDATA[')) {
        pos += 9;
        el.children.push({ text: skipPast(']]>', 'CDATA section') });
      } else if (startsWith('<?')) skipPast('?>', 'processing instruction');
      else if (startsWith('<')) el.children.push(element());
      else {
        const at = pos;
        const end = text.indexOf('<', pos);
        pos = end < 0 ? text.length : end;
        el.children.push({ text: decode(text.slice(at, pos), at) });
      }
    }
  };

  if (text.charCodeAt(0) === 0xfeff) pos = 1;
  misc(true);
  if (text[pos] !== '<') fail(pos >= text.length ? 'no root element' : 'text outside the root element');
  const root = element();
  misc(false);
  if (pos < text.length) fail(text[pos] === '<' ? 'a second root element' : 'text after the root element');
  return root;
}

/** The element children of `el`, in document order. */
export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => 'name' in c);
}

/** The text of `el` (its text and CDATA children, joined). */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => ('text' in c ? c.text : textOf(c))).join('');
}
