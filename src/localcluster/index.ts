export * from './local-cluster.js';
export * from './errors.js';
export * from './load-data.js';
