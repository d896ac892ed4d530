export * from './batch-sizer.js';
export * from './errors.js';
export * from './migrate-slot.js';
export * from './migrator.js';
export * from './owner-announcer.js';
export * from './redis-reply-error.js';
export * from './plan-fix.js';
export * from './apply-fix.js';
