export {
  DIGEST_SCHEME,
  DIGEST_LUA,
  DIGEST_BATCH_SCRIPT,
  DIGEST_CHUNK_SCRIPT,
  SLOT_FOLD_SCRIPT,
  STRING_PIECE_BYTES,
  withDigestLibrary,
} from './digest-lua.js';
export * from './errors.js';
export * from './fold.js';
export { keyDigests } from './key-digests.js';
export * from './options.js';
export * from './reconcile.js';
export { luaScript, runScript, type LuaScript } from '../cluster/run-script.js';
export {
  assignSlots,
  clusterChecksums,
  keysInSlot,
  openSlotChecksum,
  slotChecksum,
  slotFold,
  slotKeyDigests,
  type ChecksumNode,
  type ChecksumProgress,
  type ClusterChecksumOptions,
} from './slot-checksum.js';
export * from './snapshot.js';
