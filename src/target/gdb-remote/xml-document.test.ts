import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childElements, parseXml, textOf, XmlSyntaxError } from './xml-document.js';

test('XML: elements, attributes in either quote, text with entities, CDATA kept verbatim, comments and PIs dropped', () => {
  const root = parseXml(`\ufeff<?xml version="1.0"?><!DOCTYPE r [<!ELEMENT r ANY>]><!-- c --><r a="1" b='x &gt; &#65;'>t&amp;<![CDATA[<not a tag> &amp;]]><?pi x?><!-- <e/> --><e/></r><!-- end -->\n`);
  assert.equal(root.name, 'r');
  assert.deepEqual(root.attributes, { a: '1', b: 'x > A' });
  assert.equal(textOf(root), 't&<not a tag> &amp;');
  assert.deepEqual(childElements(root).map((e) => e.name), ['e']);
});

test('XML: what is not well-formed is refused with its offset', () => {
  const cases: [string, RegExp][] = [
    ['<a><b></a>', /<\/a> closes <b>/],
    ['<a>', /<a> is never closed/],
    ['<a x=1/>', /not quoted/],
    ['<a x="1" x="2"/>', /given twice/],
    ['<a>&nbsp;</a>', /unknown entity &nbsp;/],
    ['<a><!-- a -- b --></a>', /"--" inside a comment/],
    ['<a><!-- open </a>', /unterminated comment/],
    ['<a/><b/>', /a second root element/],
    ['text<a/>', /text outside the root element/],
    ['', /no root element/],
    ['<a><![CDATA[x</a>', /unterminated CDATA/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseXml(text), (e: unknown) => e instanceof XmlSyntaxError && message.test(e.message) && /at offset \d+$/.test(e.message), text);
  }
});

test('an unknown entity that runs over a newline is named on one line (found by npm run fuzz)', () => {
  assert.throws(() => parseXml('<a>t&e="1"/>\namp;</a>'), (e: Error) => {
    assert.equal(e.message.includes('\n'), false);
    assert.match(e.message, /^unknown entity &e="1"\/>\\x0aamp; at offset 4$/);
    return true;
  });
});
