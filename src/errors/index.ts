export * from './slotshift-error.js';
