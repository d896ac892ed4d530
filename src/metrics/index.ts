export { createDaemonMetrics, type DaemonMetrics } from './daemon-metrics.js';
