export * from './collect-slot-stats.js';
