export { DEFAULT_DAEMON_OPTIONS, startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
export { Lease, leaseToken } from './lease.js';
export type { DaemonState, DaemonStatus, MasterSummary, PlanStatus, WindowStatus } from './state.js';
