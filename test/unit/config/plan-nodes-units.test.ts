import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  ConfigReadError,
  SecretUnavailableError,
  UnknownNodeRefError,
  assertKnownNodes,
  loadPlanFiles,
  parseByteSize,
  parseDuration,
  parsePlanFileText,
  parseSlotRange,
  resolveValue,
} from '../../../src/config/index.js';

const ID_A = 'a1b2c3d4'.padEnd(40, '0');
const ID_B = 'a1b2ffff'.padEnd(40, '1');
const NODES = [
  { id: ID_A, addr: '10.0.0.7:6379' },
  { id: ID_B, addr: '10.0.0.8:6379' },
];

const plan = (spec: string): string =>
  `apiVersion: slotshift/v1\nkind: RebalancePlan\nmetadata: { name: p }\nspec:\n${spec}`;

describe('assertKnownNodes', () => {
  it('resolves ids, id prefixes and addresses to node ids', () => {
    const p = parsePlanFileText(
      plan(`  weights: { "10.0.0.7:6379": 2, a1b2f: 1 }\n  drain: ["${ID_A}"]\n`),
      'p.yaml',
    );
    expect(Object.fromEntries(assertKnownNodes(p, NODES))).toEqual({
      '10.0.0.7:6379': ID_A,
      a1b2f: ID_B,
      [ID_A]: ID_A,
    });
  });

  it('names file, line and field of every unknown or ambiguous ref', () => {
    const p = parsePlanFileText(
      plan('  drain: ["10.0.0.7:6379"]\n  exclude:\n    - a1b2\n    - 10.0.0.99:6379\n'),
      'plans/x.yaml',
    );
    try {
      assertKnownNodes(p, NODES);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownNodeRefError);
      const err = e as UnknownNodeRefError;
      expect(err.code).toBe('UNKNOWN_NODE');
      expect(err.refs).toEqual(['a1b2', '10.0.0.99:6379']);
      expect(err.issues.map((i) => [i.line, i.field])).toEqual([
        [7, 'spec.exclude[0]'],
        [8, 'spec.exclude[1]'],
      ]);
      expect(err.message).toMatch(/^plans\/x\.yaml:7:7: spec\.exclude\[0\]: "a1b2" matches 2 nodes/);
      expect(err.message).toMatch(
        /plans\/x\.yaml:8:7: spec\.exclude\[1\]: no node of the cluster matches "10\.0\.0\.99:6379"; known nodes: 10\.0\.0\.7:6379 \(a1b2c3d4\)/,
      );
    }
  });

  it('points a weight ref at its key', () => {
    const p = parsePlanFileText(plan('  weights:\n    "10.9.9.9:1": 3\n'), 'p.yaml');
    expect(() => assertKnownNodes(p, NODES)).toThrow(
      /^p\.yaml:6:5: spec\.weights\["10\.9\.9\.9:1"\]: no node/,
    );
  });
});

describe('loadPlanFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slotshift-plans-'));
  writeFileSync(join(dir, 'b.yml'), plan('  threshold: 3\n').replace('name: p', 'name: b'));
  writeFileSync(join(dir, 'a.yaml'), plan('  threshold: 1\n').replace('name: p', 'name: a'));
  writeFileSync(join(dir, 'notes.txt'), 'not a plan');

  it('reads .yaml and .yml files in name order and ignores others', () => {
    expect(loadPlanFiles(dir).map((p) => p.name)).toEqual(['a', 'b']);
    expect(loadPlanFiles(join(dir, 'b.yml')).map((p) => p.policy.threshold)).toEqual([3]);
  });

  it('refuses two plans with one name and a missing path', () => {
    const dup = mkdtempSync(join(tmpdir(), 'slotshift-plans-'));
    writeFileSync(join(dup, '1.yaml'), plan('  threshold: 2\n'));
    writeFileSync(join(dup, '2.yaml'), plan('  threshold: 2\n'));
    expect(() => loadPlanFiles(dup)).toThrow(/plan name "p" is also used by/);
    expect(() => loadPlanFiles(join(dir, 'missing'))).toThrow(ConfigReadError);
  });

  it('reports the failing file by its path', () => {
    const bad = mkdtempSync(join(tmpdir(), 'slotshift-plans-'));
    writeFileSync(join(bad, 'x.yaml'), plan('  threshold: high\n'));
    expect(() => loadPlanFiles(bad)).toThrow(ConfigFileError);
    expect(() => loadPlanFiles(bad)).toThrow(`${join(bad, 'x.yaml')}:5:14: spec.threshold:`);
  });
});

describe('units', () => {
  it.each([
    ['20GiB', 20 * 2 ** 30],
    ['512MB', 512e6],
    ['1.5 KiB', 1536],
    ['100', 100],
    [4096, 4096],
    ['0B', 0],
  ])('byte size %s', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['20gb', '-1', '1e3', 'GiB', '', 1.5, -3])('refuses byte size %s', (text) =>
    expect(typeof parseByteSize(text)).toBe('string'),
  );

  it.each([
    ['4h', 4 * 3_600_000],
    ['30m', 1_800_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1d2h', 93_600_000],
  ])('duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['4', 4, '4 h', 'h', '1h 30m', '-1h', ''])('refuses duration %s', (text) =>
    expect(typeof parseDuration(text)).toBe('string'),
  );

  it('parses slot ranges within 0..16383', () => {
    expect(parseSlotRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseSlotRange(5)).toEqual({ start: 5, end: 5 });
    expect(parseSlotRange('16383')).toEqual({ start: 16383, end: 16383 });
    expect(parseSlotRange('16384')).toMatch(/outside/);
    expect(parseSlotRange('10-1')).toMatch(/starts after it ends/);
    expect(parseSlotRange('-1')).toMatch(/not a slot range/);
  });
});

describe('resolveValue', () => {
  it('reads secrets from the environment or a file, and says what is missing', () => {
    expect(resolveValue({ from: 'env', name: 'PW' }, 'cluster.passwordEnv', { PW: 's3cret' })).toBe('s3cret');
    expect(() => resolveValue({ from: 'env', name: 'PW' }, 'cluster.passwordEnv', {})).toThrow(
      SecretUnavailableError,
    );
    expect(resolveValue({ from: 'file', path: '/x' }, 'cluster.passwordFile', {}, () => 'pw\n')).toBe('pw');
    expect(() =>
      resolveValue({ from: 'file', path: '/nope' }, 'cluster.passwordFile', {}, () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(/cluster\.passwordFile: cannot read \/nope: ENOENT/);
  });
});
