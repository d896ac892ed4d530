export {
  currentWindow,
  cronProblem,
  isOpen,
  nextChange,
  nextOpen,
  windowEnd,
  windowProblem,
  type ScheduleWindow,
  type WindowOccurrence,
} from './window.js';
export { instantOfWallClock, offsetMs, timeZoneProblem, wallClockMs } from './time-zone.js';
