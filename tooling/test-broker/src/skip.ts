/** The reasons already printed, per print function (a test passes its own). */
const printed = new WeakMap<(reason: string) => void, Set<string>>();

/**
 * Why a suite that needs a server program cannot run here (printed once per print function), or `false` when it
 * can. Where `CI=true` it is always `false`: the suite runs and fails on the missing program instead of skipping.
 */
export function serviceSkipReason(
  found: boolean,
  why: string,
  env: NodeJS.ProcessEnv,
  print: (reason: string) => void,
): string | false {
  if (found) return false;
  if (env.CI === "true" || env.CI === "1") return false;
  const reason = `${why}. (With CI=true they fail instead.)`;
  const seen = printed.get(print) ?? new Set<string>();
  printed.set(print, seen);
  if (!seen.has(reason)) {
    seen.add(reason);
    print(reason);
  }
  return reason;
}
