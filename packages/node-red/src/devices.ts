import { createRegistry, type AdapterRegistry } from "@proj/adapter-kit";
import { abbAc500 } from "@proj/adapter-abb";
import { beckhoffTf6701 } from "@proj/adapter-beckhoff";
import { codesysMqtt } from "@proj/adapter-codesys";
import { geoScada } from "@proj/adapter-geoscada";
import { nexto } from "@proj/adapter-nexto";

/** The devices the broker node's "Device" field offers: a connection is checked against the device's profile. */
export const NODE_RED_DEVICES: AdapterRegistry = createRegistry([
  nexto,
  geoScada,
  beckhoffTf6701,
  codesysMqtt,
  abbAc500,
]);
