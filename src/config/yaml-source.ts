import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigFileError, type ConfigIssue } from './errors.js';

export type FieldPath = readonly PropertyKey[];

/** A parsed YAML document that still knows where each node came from. */
export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  /** 1-based line and column of the field at `path` (its key when `atKey`), or of its nearest ancestor. */
  positionOf(path: FieldPath, atKey?: boolean): { line: number; column: number };
}

/** Parses YAML text; syntax errors (and duplicate keys) become a ConfigFileError with file and line. */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    keepSourceTokens: true,
    uniqueKeys: true,
    prettyErrors: true,
  });
  // Only the first syntax error: the parser's later ones at the same place mostly restate it (an
  // unclosed bracket also reads as a multi-line key, a key without a value, ...).
  const [error] = doc.errors;
  if (error) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    throw new ConfigFileError([
      {
        file,
        line: pos.line,
        column: pos.col,
        field: '',
        problem: `YAML syntax error: ${describeYamlError(error.code, error.message)}`,
      },
    ]);
  }
  return {
    file,
    value: doc.toJS({ maxAliasCount: 100 }) as unknown,
    positionOf(path, atKey = false) {
      const offset = nodeAt(doc, path, atKey)?.range?.[0] ?? 0;
      const pos = lineCounter.linePos(offset);
      return { line: pos.line, column: pos.col };
    },
  };
}

function nodeAt(doc: Document, path: FieldPath, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let found = isNode(node) ? node : undefined;
  for (const [i, segment] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      if (last && atKey && isNode(pair.key)) return pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else {
      break;
    }
    if (!isNode(node)) break;
    found = node;
  }
  return found;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

export function formatPath(path: FieldPath): string {
  return path.reduce<string>((out, seg) => {
    if (typeof seg === 'number') return `${out}[${seg}]`;
    const key = String(seg);
    if (!/^[A-Za-z_]\w*$/.test(key)) return `${out}[${JSON.stringify(key)}]`;
    return out ? `${out}.${key}` : key;
  }, '');
}

/**
 * Validates the document with a zod schema; every issue is mapped back to its line and column. An
 * unknown field or a bad record key points at the key, everything else at the value.
 */
export function validateSource<S extends z.ZodType>(source: YamlSource, schema: S): z.output<S> {
  const result = schema.safeParse(source.value);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) =>
        issueAt(source, [...issue.path, key], true, `unknown field "${key}"; ${issue.message}`),
      );
    }
    if (issue.code === 'invalid_key') {
      const message = issue.issues[0]?.message ?? issue.message;
      return [issueAt(source, issue.path, true, message)];
    }
    return [issueAt(source, issue.path, false, issue.message)];
  });
  const sorted = issues.sort((a, b) => a.line - b.line || a.column - b.column);
  const [first, ...rest] = sorted;
  // zod reports at least one issue on failure; the fallback keeps the types honest.
  throw new ConfigFileError(
    first ? [first, ...rest] : [{ file: source.file, line: 1, column: 1, field: '', problem: 'invalid' }],
  );
}

export function issueAt(source: YamlSource, path: FieldPath, atKey: boolean, problem: string): ConfigIssue {
  const { line, column } = source.positionOf(path, atKey);
  return { file: source.file, line, column, field: formatPath(path), problem };
}

/**
 * What a YAML parse error means, in our words; the position is printed beside it. The library's
 * own text (`Flow sequence in block collection must be sufficiently indented and end with a ] at
 * line 10, column 1:`) names its grammar and repeats the position; it is kept only for errors not
 * described here.
 */
export function describeYamlError(code: string, message: string): string {
  const detail = (firstLine(message).split(/ at line \d+, column \d+/)[0] ?? '').trim();
  const bracket = /end with a ([\]}])/.exec(detail)?.[1];
  switch (code) {
    case 'BAD_INDENT':
      if (bracket) {
        const open = bracket === ']' ? '[' : '{';
        return `a "${open}" opened above is not closed with "${bracket}" (or a line inside it is indented less than its field)`;
      }
      if (/same column/.test(detail))
        return 'this field is indented differently from the fields before it in the same section; indent them by the same number of spaces';
      return 'the indentation here does not fit the lines above';
    case 'TAB_AS_INDENT':
      return 'a tab indents this line; YAML indents with spaces only';
    case 'DUPLICATE_KEY':
      return 'this field is already given above in the same section; keep one';
    case 'BAD_SCALAR_START': {
      const char = /character (\S+)/.exec(detail)?.[1];
      return `a value cannot start with ${char ? `"${char}"` : 'this character'} unless quoted; put the value in quotes`;
    }
    case 'BAD_DQ_ESCAPE':
      return 'a double-quoted value has an invalid backslash escape; use single quotes, or write a backslash as \\\\';
    case 'MULTIPLE_DOCS':
      return 'the file holds more than one YAML document (a second "---"); keep one per file';
    case 'BLOCK_AS_IMPLICIT_KEY':
      if (/[Nn]ested mappings/.test(detail))
        return 'a value contains ": ", which YAML reads as a nested field; quote the value';
      break;
    case 'MISSING_CHAR': {
      const quote = /closing (["'])/.exec(detail)?.[1];
      if (quote) return `a value opened with ${quote} is not closed; add the closing ${quote}`;
      break;
    }
  }
  if (['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'UNEXPECTED_TOKEN', 'MISSING_CHAR'].includes(code))
    return 'this line is neither a "field: value" nor an item of the list above; check its indentation, and the line before it for a missing ":" or an unclosed bracket or quote';
  return `not valid YAML (${detail})`;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
