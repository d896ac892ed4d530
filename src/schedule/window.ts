import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { instantOfWallClock, nearbyOffsets, timeZoneProblem } from './time-zone.js';

/**
 * When a plan may run: a window opens at every time the cron expression names (wall-clock time in
 * `timezone`) and stays open for `durationMs` of elapsed time, so a 4h window that opens at 01:00 on
 * the night clocks go back closes at 04:00 local time, four real hours later.
 */
export interface ScheduleWindow {
  /** Five fields (minute hour day-of-month month day-of-week) or six with seconds first. */
  readonly cron: string;
  /** Elapsed milliseconds, > 0. */
  readonly durationMs: number;
  /** IANA time zone the cron fields are read in. */
  readonly timezone: string;
}

export interface WindowOccurrence {
  readonly start: Date;
  readonly end: Date;
}

/** Why `expression` is not a usable cron expression, or null. */
export function cronProblem(expression: string): string | null {
  const trimmed = expression.trim();
  const fieldCount = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith('@') && fieldCount !== 5 && fieldCount !== 6) {
    return `cron "${expression}" has ${fieldCount} fields; use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`;
  }
  try {
    // next() throws for expressions that parse but never fire, such as 30 February.
    cronAt(trimmed, 0).next();
    return null;
  } catch (e) {
    return `invalid cron "${expression}": ${(e as Error).message}; e.g. "0 1 * * *" opens at 01:00 every day`;
  }
}

/** Why `window` cannot be used, or null. Schedules fed by config files are checked there already. */
export function windowProblem(window: ScheduleWindow): string | null {
  if (!(Number.isFinite(window.durationMs) && window.durationMs > 0)) {
    return `window duration must be a positive number of milliseconds, got ${window.durationMs}`;
  }
  return cronProblem(window.cron) ?? timeZoneProblem(window.timezone);
}

// Matching runs in UTC on wall-clock times (see wallClockMs): the cron library then never meets a
// DST transition, and the gap/fold rule is ours, in instantOfWallClock, in one place.
function cronAt(expression: string, wallMs: number): CronExpression {
  return CronExpressionParser.parse(expression, { currentDate: new Date(wallMs), tz: 'UTC' });
}

/**
 * The latest window start at or before `t`. Starts are not in wall-clock order around a DST gap: a
 * nonexistent time is moved forward by the gap (instantOfWallClock), past the real times just after
 * the gap (on Lord Howe, 02:20 moves to 15:50Z, after 02:40 at 15:40Z). So the search goes on past
 * the first start found until no earlier wall-clock time can give a later instant: wall time L is
 * at most L - min.
 */
function latestStartAtOrBefore(window: ScheduleWindow, t: number): number {
  // A start at wall-clock time L is the instant L - offset, so no L beyond t + max offset can be <= t.
  const { min, max } = nearbyOffsets(window.timezone, t);
  // prev() is strictly before its current date; +1 ms makes a start exactly at the bound count.
  const matches = cronAt(window.cron, t + max + 1);
  let best = -Infinity;
  for (;;) {
    const wall = matches.prev().getTime();
    if (wall - min <= best) return best;
    const start = instantOfWallClock(window.timezone, wall);
    if (start <= t && start > best) best = start;
  }
}

/** The earliest window start strictly after `t`; see latestStartAtOrBefore on the order of starts. */
function earliestStartAfter(window: ScheduleWindow, t: number): number {
  const { min, max } = nearbyOffsets(window.timezone, t);
  const matches = cronAt(window.cron, t + min);
  let best = Infinity;
  for (;;) {
    const wall = matches.next().getTime();
    // Wall time L is the instant L - offset, at least L - max.
    if (wall - max >= best) return best;
    const start = instantOfWallClock(window.timezone, wall);
    if (start > t && start < best) best = start;
  }
}

/**
 * The occurrence open at `now`, or null when the window is closed. When occurrences overlap (a
 * start comes before the previous one ends) this is the latest one, which ends last.
 */
export function currentWindow(now: Date, window: ScheduleWindow): WindowOccurrence | null {
  const t = now.getTime();
  const start = latestStartAtOrBefore(window, t);
  const end = start + window.durationMs;
  return t < end ? { start: new Date(start), end: new Date(end) } : null;
}

export function isOpen(now: Date, window: ScheduleWindow): boolean {
  return currentWindow(now, window) !== null;
}

/**
 * The next instant an occurrence starts, strictly after `now`: when the window is closed, when it
 * opens; when it is open, when the next occurrence starts (windowEnd says when this one closes).
 * It used to be `now` itself while the window was open, which /status showed as a past time. When
 * occurrences overlap, the window is still open at the next start.
 */
export function nextOpen(now: Date, window: ScheduleWindow): Date {
  return new Date(earliestStartAfter(window, now.getTime()));
}

/**
 * When the occurrence open at `now` closes, or null when the window is closed. If a later
 * occurrence starts at or before that instant the window is still open then: callers re-check.
 */
export function windowEnd(now: Date, window: ScheduleWindow): Date | null {
  return currentWindow(now, window)?.end ?? null;
}

/** The next instant `isOpen` may change: the end of the open occurrence, or the next start. */
export function nextChange(now: Date, window: ScheduleWindow): Date {
  return windowEnd(now, window) ?? nextOpen(now, window);
}
