import YAML from 'yaml';
import { z } from 'zod';
import { InvalidPlanError } from './errors.js';
import { PLAN_API_VERSION, PLAN_KIND, type Plan } from './plan.js';

const count = z.number().int().nonnegative();
const amount = z.number().nonnegative();
const nodeId = z.string().min(1);

const policySchema = z.strictObject({
  weights: z.record(nodeId, amount),
  exclude: z.array(nodeId),
  pin: z.array(z.strictObject({ start: count, end: count })),
  useEmptyMasters: z.boolean(),
  threshold: amount,
  balanceBy: z.enum(['slots', 'keys', 'memory']),
  slotTolerance: amount,
  maxMoves: count.nullable(),
  maxBytes: amount.nullable(),
  maxPerNode: count.min(1),
});

const loadSchema = z.strictObject({
  slots: count,
  keys: amount,
  bytes: amount,
  share: z.number().min(0).max(1),
});

/** The shape of a plan file; `parsePlan` accepts exactly what `planToJson`/`planToYaml` write. */
export const planSchema = z.strictObject({
  apiVersion: z.literal(PLAN_API_VERSION),
  kind: z.literal(PLAN_KIND),
  planId: z.string().regex(/^[0-9a-f]{16}$/),
  topologyFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  policy: policySchema,
  balanceBy: z.enum(['slots', 'keys', 'memory']),
  moves: z.array(
    z.strictObject({ slot: count.max(16383), from: nodeId, to: nodeId, keys: amount, bytes: amount }),
  ),
  waves: z.array(z.array(count)),
  targets: z.record(nodeId, count),
  before: z.record(nodeId, loadSchema),
  after: z.record(nodeId, loadSchema),
  totals: z.strictObject({ slots: count, keys: amount, bytes: amount }),
  reason: z.string().optional(),
  deferred: count,
  limits: z.strictObject({ latencyBudgetMs: z.number().positive() }).optional(),
});

export function planToJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

export function planToYaml(plan: Plan): string {
  // Flow style for the short per-move and per-wave entries keeps a 16384-move plan readable.
  const doc = new YAML.Document(plan);
  YAML.visit(doc, {
    Map(_, node, path) {
      const parent = path[path.length - 2];
      if (YAML.isPair(parent) && YAML.isScalar(parent.key) && parent.key.value === 'moves') node.flow = true;
      if (YAML.isMap(parent) && path.length > 2) {
        const owner = path[path.length - 3];
        if (
          YAML.isPair(owner) &&
          YAML.isScalar(owner.key) &&
          ['before', 'after'].includes(String(owner.key.value))
        ) {
          node.flow = true;
        }
      }
    },
    Seq(_, node, path) {
      const parent = path[path.length - 1];
      if (YAML.isSeq(parent)) node.flow = true;
      if (YAML.isPair(parent) && YAML.isScalar(parent.key) && parent.key.value === 'pin') node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * Loads a plan written by `planToJson` or `planToYaml` (YAML is a superset of JSON) and checks its
 * shape and internal consistency; anything else is an `InvalidPlanError` naming the field.
 */
export function parsePlan(text: string): Plan {
  let raw: unknown;
  try {
    raw = YAML.parse(text, { maxAliasCount: 0 });
  } catch (e) {
    throw new InvalidPlanError('', e instanceof Error ? e.message : String(e));
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidPlanError(
      issue?.path.join('.') ?? '',
      issue?.message ?? 'does not match the SlotPlan shape',
    );
  }
  const plan = parsed.data;
  const seen = new Set<number>();
  plan.moves.forEach((m, i) => {
    if (seen.has(m.slot)) throw new InvalidPlanError(`moves.${i}.slot`, `slot ${m.slot} moves twice`);
    if (m.from === m.to)
      throw new InvalidPlanError(`moves.${i}`, `slot ${m.slot} moves from ${m.from} to itself`);
    seen.add(m.slot);
  });
  const inWave = new Set<number>();
  plan.waves.forEach((wave, w) =>
    wave.forEach((index, k) => {
      if (index >= plan.moves.length || inWave.has(index)) {
        throw new InvalidPlanError(`waves.${w}.${k}`, `move index ${index} is out of range or listed twice`);
      }
      inWave.add(index);
    }),
  );
  if (inWave.size !== plan.moves.length) throw new InvalidPlanError('waves', 'not every move is in a wave');
  return plan;
}
