const printed = new Set<string>();

/**
 * Why a suite that needs a server program cannot run here (printed once per program), or `false` when it can.
 * Where `CI=true` it is always `false`: the suite runs and fails on the missing program instead of skipping.
 */
export function serviceSkipReason(
  found: boolean,
  service: string,
  installHint: string,
  env: NodeJS.ProcessEnv,
  print: (reason: string) => void,
): string | false {
  if (found) return false;
  if (env.CI === "true" || env.CI === "1") return false;
  const reason = `${service} tests skipped: ${service} is not installed; ${installHint}. (With CI=true they fail instead.)`;
  if (!printed.has(service)) {
    printed.add(service);
    print(reason);
  }
  return reason;
}
