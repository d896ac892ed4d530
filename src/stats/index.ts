export * from './collect-slot-stats.js';
export * from './plan-from-cluster.js';
