import { describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  parseConfigText,
  parsePlanFileText,
  type ConfigIssue,
} from '../../../src/config/index.js';

const PLAN = `apiVersion: slotshift/v1
kind: RebalancePlan
metadata:
  name: test-plan
spec:
  useEmptyMasters: true
  weights:
    "10.0.0.7:6379": 2
  drain: ["10.0.0.9:6379"]
  pin: ["0-99"]
  limits:
    maxBytes: 20GiB
  window:
    cron: "0 1 * * *"
    duration: 4h
    timezone: Europe/Berlin
`;

const CONFIG = `cluster:
  seeds: ["redis-1:6379"]
  passwordEnv: SLOTSHIFT_PASSWORD
  connectTimeoutMs: 5000
queue:
  url: redis://queue:6379
http:
  listen: 0.0.0.0:9187
tickSeconds: 10
`;

/** Replaces the one line that starts with `prefix` (after indentation). */
function edit(text: string, prefix: string, replacement: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trimStart().startsWith(prefix));
  if (i < 0) throw new Error(`no line starts with ${prefix}`);
  lines[i] = replacement;
  return lines.join('\n');
}

function firstIssue(parse: () => unknown): ConfigIssue {
  try {
    parse();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigFileError);
    const err = e as ConfigFileError;
    expect(err.message.startsWith(`${err.file}:${err.line}:${err.column}: `)).toBe(true);
    expect(err.exitCode).toBe(2);
    return err.issues[0];
  }
  throw new Error('expected a ConfigFileError');
}

describe('the unedited fixtures are valid', () => {
  it('parses', () => {
    expect(parsePlanFileText(PLAN, 'plan.yaml').name).toBe('test-plan');
    expect(parseConfigText(CONFIG, '/etc/slotshift/slotshift.yaml').tickMs).toBe(10_000);
  });
});

describe('bad plan files name file, line, field and what is allowed', () => {
  it.each([
    [
      'wrong apiVersion',
      edit(PLAN, 'apiVersion', 'apiVersion: slotshift/v2'),
      1,
      'apiVersion',
      /must be slotshift\/v1/,
    ],
    ['wrong kind', edit(PLAN, 'kind', 'kind: Plan'), 2, 'kind', /must be RebalancePlan/],
    ['bad name', edit(PLAN, 'name', '  name: Nightly Scale'), 4, 'metadata.name', /lowercase letters/],
    [
      'wrong type',
      edit(PLAN, 'useEmptyMasters', '  useEmptyMasters: "yes"'),
      6,
      'spec.useEmptyMasters',
      /expected boolean/,
    ],
    [
      'unknown field',
      edit(PLAN, 'useEmptyMasters', '  useEmptyMaster: true'),
      6,
      'spec.useEmptyMaster',
      /unknown field "useEmptyMaster"; allowed fields: useEmptyMasters, balanceBy/,
    ],
    [
      'bad enum',
      edit(PLAN, 'useEmptyMasters', '  balanceBy: bytes'),
      6,
      'spec.balanceBy',
      /expected one of "slots"\|"keys"\|"memory"/,
    ],
    [
      'negative weight',
      edit(PLAN, '"10.0.0.7:6379"', '    "10.0.0.7:6379": -1'),
      8,
      'spec.weights["10.0.0.7:6379"]',
      /weight must be >= 0/,
    ],
    [
      'bad node ref',
      edit(PLAN, '"10.0.0.7:6379"', '    "node-seven": 2'),
      8,
      'spec.weights["node-seven"]',
      /not a node ref; use a node id/,
    ],
    [
      'drained and weighted',
      edit(PLAN, 'drain', '  drain: ["10.0.0.7:6379"]'),
      8,
      'spec.weights["10.0.0.7:6379"]',
      /drained, which means weight 0/,
    ],
    [
      'slot out of range',
      edit(PLAN, 'pin', '  pin: ["0-99", "16000-16384"]'),
      10,
      'spec.pin[1]',
      /outside 0..16383/,
    ],
    [
      'slot range reversed',
      edit(PLAN, 'pin', '  pin: ["99-0"]'),
      10,
      'spec.pin[0]',
      /starts after it ends; .* 0-99/,
    ],
    ['slot range garbage', edit(PLAN, 'pin', '  pin: ["a-b"]'), 10, 'spec.pin[0]', /not a slot range/],
    [
      'bad byte size',
      edit(PLAN, 'maxBytes', '    maxBytes: 20 gigs'),
      12,
      'spec.limits.maxBytes',
      /not a byte size; .*20GiB/,
    ],
    [
      'bad cron',
      edit(PLAN, 'cron', '    cron: "0 25 * * *"'),
      14,
      'spec.window.cron',
      /invalid cron "0 25 \* \* \*"/,
    ],
    ['cron field count', edit(PLAN, 'cron', '    cron: "0 1 * *"'), 14, 'spec.window.cron', /has 4 fields/],
    [
      'bare-number duration',
      edit(PLAN, 'duration', '    duration: 4'),
      15,
      'spec.window.duration',
      /add|unit/,
    ],
    [
      'unknown timezone',
      edit(PLAN, 'timezone', '    timezone: Europe/Berlinn'),
      16,
      'spec.window.timezone',
      /unknown time zone "Europe\/Berlinn"; use an IANA name/,
    ],
    ['missing timezone', edit(PLAN, 'timezone', ''), 14, 'spec.window.timezone', /is required/],
    // yaml notices an unclosed flow sequence on the line after it, and says so.
    [
      'YAML unclosed bracket',
      edit(PLAN, 'drain', '  drain: ["10.0.0.9:6379"'),
      10,
      '',
      /^YAML syntax error: a "\[" opened above is not closed with "\]"/,
    ],
    [
      'YAML bad mapping',
      edit(PLAN, 'drain', '  drain: a: b'),
      9,
      '',
      /^YAML syntax error: a value contains ": ", which YAML reads as a nested field; quote the value$/,
    ],
    [
      'duplicate key',
      edit(PLAN, 'pin', '  drain: []'),
      10,
      '',
      /^YAML syntax error: this field is already given above in the same section; keep one$/,
    ],
  ])('%s', (_name, text, line, field, problem) => {
    const issue = firstIssue(() => parsePlanFileText(text, 'plans/nightly.yaml'));
    expect(issue.file).toBe('plans/nightly.yaml');
    expect(issue.line).toBe(line);
    expect(issue.field).toBe(field);
    expect(issue.problem).toMatch(problem);
  });

  it('reports every issue of a file, in line order', () => {
    const text = edit(edit(PLAN, 'maxBytes', '    maxBytes: lots'), 'kind', 'kind: Plan');
    try {
      parsePlanFileText(text, 'p.yaml');
      expect.unreachable();
    } catch (e) {
      const err = e as ConfigFileError;
      expect(err.issues.map((i) => [i.line, i.field])).toEqual([
        [2, 'kind'],
        [12, 'spec.limits.maxBytes'],
      ]);
      expect(err.message.split('\n')).toHaveLength(2);
    }
  });

  it('points an empty document at line 1', () => {
    expect(firstIssue(() => parsePlanFileText('', 'p.yaml')).line).toBe(1);
  });
});

describe('bad config files name file, line, field and what is allowed', () => {
  it.each([
    [
      'inline password',
      edit(CONFIG, 'passwordEnv', '  password: hunter2'),
      3,
      'cluster.password',
      /never written in the config file; .*passwordEnv/,
    ],
    [
      'password twice',
      edit(CONFIG, 'connectTimeoutMs', '  passwordFile: /run/secrets/p'),
      4,
      'cluster.passwordFile',
      /not both/,
    ],
    ['bad seed', edit(CONFIG, 'seeds', '  seeds: ["redis-1"]'), 2, 'cluster.seeds[0]', /not HOST:PORT/],
    ['no seeds', edit(CONFIG, 'seeds', '  seeds: []'), 2, 'cluster.seeds', /at least one/],
    [
      'wrong type',
      edit(CONFIG, 'connectTimeoutMs', '  connectTimeoutMs: 5s'),
      4,
      'cluster.connectTimeoutMs',
      /expected number/,
    ],
    [
      'credentials in queue url',
      edit(CONFIG, 'url', '  url: redis://:secret@queue:6379'),
      6,
      'queue.url',
      /urlEnv/,
    ],
    [
      'unknown field',
      edit(CONFIG, 'listen', '  listen_addr: 0.0.0.0:9187'),
      8,
      'http.listen_addr',
      /allowed fields: listen, tokenEnv, tokenFile/,
    ],
    ['bad listen', edit(CONFIG, 'listen', '  listen: 9187'), 8, 'http.listen', /HOST:PORT/],
    ['negative tick', edit(CONFIG, 'tickSeconds', 'tickSeconds: -1'), 9, 'tickSeconds', /more than 0/],
    [
      'bad batch size',
      edit(CONFIG, 'tickSeconds', 'moves:\n  maxBatchBytes: lots'),
      10,
      'moves.maxBatchBytes',
      /"lots" is not a byte size/,
    ],
    [
      'unknown move setting',
      edit(CONFIG, 'tickSeconds', 'moves:\n  latencyBudget: 5'),
      10,
      'moves.latencyBudget',
      /allowed fields: verify, latencyBudgetMs, maxBatchBytes, migrateTimeoutMs, groupSlots/,
    ],
    [
      'YAML syntax error',
      edit(CONFIG, 'queue', 'queue: {url: redis://queue:6379'),
      5,
      '',
      /^YAML syntax error: this line is neither .* or an unclosed bracket or quote$/,
    ],
  ])('%s', (_name, text, line, field, problem) => {
    const issue = firstIssue(() => parseConfigText(text, 'slotshift.yaml'));
    expect(issue.file).toBe('slotshift.yaml');
    expect(issue.line).toBe(line);
    expect(issue.field).toBe(field);
    expect(issue.problem).toMatch(problem);
  });

  it('names a missing required section at the document', () => {
    const issue = firstIssue(() => parseConfigText('cluster:\n  seeds: ["a:1"]\n', 'c.yaml'));
    expect(issue.field).toBe('queue');
    expect(issue.line).toBe(1);
  });
});

describe('YAML syntax errors say in our words what is wrong, once, at file:line:column', () => {
  it.each([
    [
      'a tab as indentation',
      'spec:\n\tdrain: []\n',
      2,
      /a tab indents this line; YAML indents with spaces only/,
    ],
    ['an unclosed quote', 'spec:\n  drain: ["10.0.0.9:6379]\n', 3, /a value opened with " is not closed/],
    [
      'a line indented less than its section',
      'spec:\n  policy:\n    drain: [x\n  - y]\n',
      4,
      /a "\[" opened above is not closed with "\]"/,
    ],
    ['a reserved first character', 'spec:\n  drain: @x\n', 2, /cannot start with "@" unless quoted/],
  ])('%s', (_name, text, line, problem) => {
    try {
      parsePlanFileText(text, 'p.yaml');
      expect.unreachable();
    } catch (e) {
      const err = e as ConfigFileError;
      expect(err.line).toBe(line);
      expect(err.message).toMatch(new RegExp(`^p\\.yaml:${line}:\\d+: YAML syntax error: `));
      expect(err.message).toMatch(problem);
      // One issue: the parser's follow-on errors at the same place restate the first.
      expect(err.message.split('\n')).toHaveLength(1);
      // Not the parser's own text, which repeats the position ("at line 4, column 3:").
      expect(err.message).not.toMatch(/at line \d+, column \d+/);
    }
  });
});
