export {
  ConfigFileSchema,
  compileConfig,
  LOG_LEVELS,
  type ConfigFileInput,
  type SlotshiftConfig,
  type ValueSource,
} from './config-schema.js';
export {
  ConfigFileError,
  ConfigReadError,
  SecretUnavailableError,
  UnknownNodeRefError,
  formatIssue,
  type ConfigIssue,
} from './errors.js';
export { loadConfig, parseConfigText, resolveValue } from './load-config.js';
export {
  PLAN_API_VERSION,
  PLAN_KIND,
  PlanFileSchema,
  assertKnownNodes,
  loadPlanFile,
  loadPlanFiles,
  parsePlanFileText,
  parseSlotRange,
  type KnownNode,
  type NodeRefSite,
  type PlanFile,
} from './plan-file.js';
export { parseByteSize, parseDuration } from './units.js';
export { policyFromPlanFile } from './plan-policy.js';
