import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { parseAddress, SLOT_COUNT, type SlotRange } from '../cluster/index.js';
import { cronProblem, timeZoneProblem, type ScheduleWindow } from '../schedule/index.js';
import { ConfigReadError, UnknownNodeRefError, type ConfigIssue } from './errors.js';
import { readText } from './load-config.js';
import { byteSize, duration, strictObject } from './units.js';
import { formatPath, parseYamlSource, validateSource, type FieldPath } from './yaml-source.js';

export const PLAN_API_VERSION = 'slotshift/v1';
export const PLAN_KIND = 'RebalancePlan';

const MIN_ID_PREFIX = 4;

function nodeRefProblem(ref: string): string | null {
  if (/^[0-9a-f]{4,40}$/i.test(ref)) return null;
  try {
    parseAddress(ref);
    return null;
  } catch {
    return `"${ref}" is not a node ref; use a node id, an id prefix of at least ${MIN_ID_PREFIX} hex characters, or HOST:PORT`;
  }
}

const nodeRef = z.string().superRefine((ref, ctx) => {
  const problem = nodeRefProblem(ref);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Parses `0-99`, `5` or 5 into a slot range inside 0..16383 with start <= end. */
export function parseSlotRange(input: number | string): SlotRange | string {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(String(input));
  const allowed = `write a slot (5) or an inclusive range (0-99) within 0..${SLOT_COUNT - 1}`;
  if (!m) return `"${input}" is not a slot range; ${allowed}`;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (end >= SLOT_COUNT || start >= SLOT_COUNT)
    return `"${input}" is outside 0..${SLOT_COUNT - 1}; ${allowed}`;
  if (start > end) return `"${input}" starts after it ends; write the lower slot first, e.g. ${end}-${start}`;
  return { start, end };
}

const slotRange = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = parseSlotRange(value);
  if (typeof parsed !== 'string') return parsed;
  ctx.addIssue({ code: 'custom', message: parsed });
  return z.NEVER;
});

const positiveInt = z.number().int('must be a whole number').positive('must be at least 1');

const WindowSchema = strictObject({
  cron: z.string().superRefine((expr, ctx) => {
    const problem = cronProblem(expr);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  duration: duration(),
  timezone: z
    .string({ error: 'is required: the IANA zone the cron times are in, e.g. Europe/Berlin or UTC' })
    .superRefine((tz, ctx) => {
      const problem = timeZoneProblem(tz);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
});

const SpecSchema = strictObject({
  useEmptyMasters: z.boolean().default(false),
  balanceBy: z.enum(['slots', 'keys', 'memory']).default('slots'),
  threshold: z
    .number()
    .min(0, 'must be a percentage >= 0')
    .max(100, 'must be a percentage <= 100')
    .default(2),
  slotTolerance: z.number().min(0, 'must be a percentage >= 0').optional(),
  weights: z
    .record(nodeRef, z.number().min(0, 'a weight must be >= 0 (0 drains the node)').finite())
    .default({}),
  drain: z.array(nodeRef).default([]),
  exclude: z.array(nodeRef).default([]),
  pin: z.array(slotRange).default([]),
  limits: strictObject({
    maxMoves: positiveInt.optional(),
    maxBytes: byteSize().optional(),
    latencyBudgetMs: z.number().positive('must be more than 0').optional(),
    maxPerNode: positiveInt.optional(),
  }).default({}),
  window: WindowSchema.optional(),
}).superRefine((spec, ctx) => {
  const drained = new Set(spec.drain);
  spec.exclude.forEach((ref, i) => {
    if (drained.has(ref)) {
      ctx.addIssue({
        code: 'custom',
        path: ['exclude', i],
        message: `"${ref}" is also in drain; a node is either emptied (drain) or left alone (exclude)`,
      });
    }
  });
  for (const [ref, weight] of Object.entries(spec.weights)) {
    if (drained.has(ref) && weight > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['weights', ref],
        message: `"${ref}" is drained, which means weight 0; remove it from weights or from drain`,
      });
    }
  }
});

export const PlanFileSchema = strictObject({
  apiVersion: z.literal(PLAN_API_VERSION, { error: `must be ${PLAN_API_VERSION}` }),
  kind: z.literal(PLAN_KIND, { error: `must be ${PLAN_KIND}` }),
  metadata: strictObject({
    name: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
        'must be lowercase letters, digits and dashes (at most 63), e.g. nightly-scale-out',
      ),
    description: z.string().optional(),
  }),
  spec: SpecSchema,
});

/** Where a node ref was written, so it can be reported once the cluster's nodes are known. */
export interface NodeRefSite {
  readonly ref: string;
  readonly field: string;
  readonly line: number;
  readonly column: number;
}

/** A validated plan file, every default applied, sizes in bytes and durations in milliseconds. */
export interface PlanFile {
  readonly file: string;
  readonly name: string;
  readonly description: string | null;
  readonly policy: {
    readonly useEmptyMasters: boolean;
    readonly balanceBy: 'slots' | 'keys' | 'memory';
    /** Percent. @defaultValue 2 */
    readonly threshold: number;
    /** Percent; null leaves the planner's default. */
    readonly slotTolerance: number | null;
    readonly weights: Readonly<Record<string, number>>;
    readonly drain: readonly string[];
    readonly exclude: readonly string[];
    readonly pin: readonly SlotRange[];
  };
  /** null: no limit (or the planner's default for maxPerNode). */
  readonly limits: {
    readonly maxMoves: number | null;
    readonly maxBytes: number | null;
    readonly latencyBudgetMs: number | null;
    readonly maxPerNode: number | null;
  };
  /** null: always open. */
  readonly window: ScheduleWindow | null;
  readonly nodeRefs: readonly NodeRefSite[];
}

/** Validates one plan document; `fileName` names it in errors. Pure. */
export function parsePlanFileText(text: string, fileName: string): PlanFile {
  const source = parseYamlSource(text, fileName);
  const { metadata, spec } = validateSource(source, PlanFileSchema);
  const site = (path: FieldPath, ref: string): NodeRefSite => ({
    ref,
    field: formatPath(path),
    ...source.positionOf(path, path[1] === 'weights'),
  });
  return {
    file: fileName,
    name: metadata.name,
    description: metadata.description ?? null,
    policy: {
      useEmptyMasters: spec.useEmptyMasters,
      balanceBy: spec.balanceBy,
      threshold: spec.threshold,
      slotTolerance: spec.slotTolerance ?? null,
      weights: spec.weights,
      drain: spec.drain,
      exclude: spec.exclude,
      pin: spec.pin,
    },
    limits: {
      maxMoves: spec.limits.maxMoves ?? null,
      maxBytes: spec.limits.maxBytes ?? null,
      latencyBudgetMs: spec.limits.latencyBudgetMs ?? null,
      maxPerNode: spec.limits.maxPerNode ?? null,
    },
    window: spec.window
      ? { cron: spec.window.cron, durationMs: spec.window.duration, timezone: spec.window.timezone }
      : null,
    nodeRefs: [
      ...Object.keys(spec.weights).map((ref) => site(['spec', 'weights', ref], ref)),
      ...spec.drain.map((ref, i) => site(['spec', 'drain', i], ref)),
      ...spec.exclude.map((ref, i) => site(['spec', 'exclude', i], ref)),
    ],
  };
}

export function loadPlanFile(path: string): PlanFile {
  return parsePlanFileText(readText(path), path);
}

/** One plan file, or every `.yaml`/`.yml` file of a directory (not recursive) in name order. */
export function loadPlanFiles(fileOrDir: string): PlanFile[] {
  let isDir: boolean;
  try {
    isDir = statSync(fileOrDir).isDirectory();
  } catch (e) {
    throw new ConfigReadError(fileOrDir, (e as Error).message);
  }
  if (!isDir) return [loadPlanFile(fileOrDir)];
  const files = readdirSync(fileOrDir)
    .filter((name) => ['.yaml', '.yml'].includes(extname(name)))
    .sort()
    .map((name) => join(fileOrDir, name));
  const plans = files.map(loadPlanFile);
  const seen = new Map<string, string>();
  for (const plan of plans) {
    const other = seen.get(plan.name);
    if (other) {
      throw new ConfigReadError(
        plan.file,
        `plan name "${plan.name}" is also used by ${other}; give each plan its own metadata.name`,
      );
    }
    seen.set(plan.name, plan.file);
  }
  return plans;
}

export interface KnownNode {
  readonly id: string;
  readonly addr: string;
}

/**
 * Checks every node ref of a plan against the cluster's nodes and returns ref → node id. Throws
 * UnknownNodeRefError naming the file, line and field of each ref that matches no node or several.
 */
export function assertKnownNodes(
  plan: PlanFile,
  knownNodes: readonly KnownNode[],
): ReadonlyMap<string, string> {
  const resolved = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  const badRefs: string[] = [];
  for (const site of plan.nodeRefs) {
    const matches = matchNodes(site.ref, knownNodes);
    const [only, second] = matches;
    if (only && !second) {
      resolved.set(site.ref, only.id);
      continue;
    }
    const problem = only
      ? `"${site.ref}" matches ${matches.length} nodes (${matches.map((n) => n.id).join(', ')}); give more characters of the node id`
      : `no node of the cluster matches "${site.ref}"; known nodes: ${knownNodes.map((n) => `${n.addr} (${n.id.slice(0, 8)})`).join(', ') || 'none'}`;
    badRefs.push(site.ref);
    issues.push({ file: plan.file, line: site.line, column: site.column, field: site.field, problem });
  }
  const [first, ...rest] = issues;
  if (first) throw new UnknownNodeRefError([first, ...rest], badRefs);
  return resolved;
}

function matchNodes(ref: string, nodes: readonly KnownNode[]): readonly KnownNode[] {
  const exact = nodes.filter((n) => n.id === ref || n.addr === ref);
  if (exact.length > 0) return exact;
  const lower = ref.toLowerCase();
  if (lower.length < MIN_ID_PREFIX || !/^[0-9a-f]+$/.test(lower)) return [];
  return nodes.filter((n) => n.id.startsWith(lower));
}
