export * from './cluster-status.js';
