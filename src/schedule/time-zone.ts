const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Why `timeZone` cannot be used, or null when it is a zone this runtime knows. */
export function timeZoneProblem(timeZone: string): string | null {
  try {
    formatterFor(timeZone);
    return null;
  } catch {
    return `unknown time zone "${timeZone}"; use an IANA name such as Europe/Berlin, America/New_York or UTC`;
  }
}

/** The zone's UTC offset at an instant, in milliseconds (east of Greenwich is positive). */
export function offsetMs(timeZone: string, instantMs: number): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(whole))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const wall = new Date(0);
  wall.setUTCFullYear(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1);
  wall.setUTCHours(parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, 0);
  return wall.getTime() - whole;
}

/**
 * Wall-clock time in `timeZone` at an instant, encoded as if that wall-clock time were UTC. Cron
 * matching happens on this encoding, where no day is 23 or 25 hours long.
 */
export function wallClockMs(timeZone: string, instantMs: number): number {
  return instantMs + offsetMs(timeZone, instantMs);
}

/**
 * The instant a wall-clock time names, resolved like Temporal's `disambiguation: 'compatible'`:
 * a time that occurs twice (clocks go back) is its first occurrence, so a fixed-time window opens
 * once; a time that does not exist (clocks go forward) is moved forward by the gap, so 02:30 on the
 * night Europe/Berlin skips 02:00–03:00 opens at 03:30 and the day's window is not lost.
 * The result is not monotonic in `wallMs`: a time in the gap lands after the real times just past
 * it (the window search allows for that).
 */
export function instantOfWallClock(timeZone: string, wallMs: number): number {
  const before = offsetMs(timeZone, wallMs - DAY_MS);
  const candidates = new Set([before, offsetMs(timeZone, wallMs), offsetMs(timeZone, wallMs + DAY_MS)]);
  let earliest: number | null = null;
  for (const offset of candidates) {
    const instant = wallMs - offset;
    if (offsetMs(timeZone, instant) === offset && (earliest === null || instant < earliest)) {
      earliest = instant;
    }
  }
  return earliest ?? wallMs - before;
}

/** Smallest and largest offset in force within a day of an instant: bounds for the wall-clock search. */
export function nearbyOffsets(timeZone: string, instantMs: number): { min: number; max: number } {
  const offsets = [
    offsetMs(timeZone, instantMs - DAY_MS),
    offsetMs(timeZone, instantMs),
    offsetMs(timeZone, instantMs + DAY_MS),
  ];
  return { min: Math.min(...offsets), max: Math.max(...offsets) };
}
