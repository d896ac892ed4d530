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
  const syntaxErrors = doc.errors.map((e): ConfigIssue => {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    return {
      file,
      line: pos.line,
      column: pos.col,
      field: '',
      problem: `YAML syntax error: ${firstLine(e.message)}`,
    };
  });
  const [first, ...rest] = syntaxErrors;
  if (first) throw new ConfigFileError([first, ...rest]);
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

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
