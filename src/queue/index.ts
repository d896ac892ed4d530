export * from './node-limiter.js';
export * from './plan-queue.js';
export * from './slot-job.js';
export * from './slot-worker.js';
export * from './queue-placement.js';
export * from './worker-limits.js';
export * from './shared-close-turns.js';
export * from './errors.js';
