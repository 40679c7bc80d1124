/**
 * Calendar functions (`hour`, `minute`, `month`, `year`, `day_of_month`, `day_of_week`,
 * `day_of_year`, `days_in_month`), all in UTC, on a timestamp in seconds.
 */

/** A calendar function of Unix seconds (already truncated to an integer like Go's int64()). */
export type DateFunction = (d: Date) => number;

const dayMs = 86_400_000;

/** Calendar functions by name. */
export const dateFunctions: Record<string, DateFunction> = {
  minute: (d) => d.getUTCMinutes(),
  hour: (d) => d.getUTCHours(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / dayMs) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
};

/** Converts float seconds to a Date the way Prometheus does (`time.Unix(int64(f), 0)`). */
export function dateOfSeconds(seconds: number): Date {
  return new Date(Math.trunc(seconds) * 1000);
}
