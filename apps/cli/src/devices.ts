import { createRegistry, type Adapter, type AdapterRegistry } from "@proj/adapter-kit";
import { abbAc500 } from "@proj/adapter-abb";
import { beckhoffTf6701 } from "@proj/adapter-beckhoff";
import { codesysMqtt } from "@proj/adapter-codesys";
import { geoScada } from "@proj/adapter-geoscada";
import { nexto } from "@proj/adapter-nexto";
import { CliError } from "./errors.js";

/** The adapters the CLI knows, in the order `devices` lists them. */
export const DEVICES: AdapterRegistry = createRegistry([
  nexto,
  geoScada,
  beckhoffTf6701,
  codesysMqtt,
  abbAc500,
]);

/** The adapter with `id`, or a usage error listing the ids there are. */
export function deviceById(id: string): Adapter {
  const adapter = DEVICES.get(id);
  if (adapter) return adapter;
  throw new CliError("UNKNOWN_DEVICE", `there is no device "${id}"`, {
    remedy: `Use one of: ${DEVICES.list()
      .map((a) => a.id)
      .join(", ")} (see mqtt-tls devices).`,
  });
}
