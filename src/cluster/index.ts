export * from './model.js';
export * from './parse-replies.js';
export * from './build-topology.js';
export * from './connection.js';
export * from './node-pool.js';
export * from './read-topology.js';
export * from './run-script.js';
export * from './failover-watch.js';
