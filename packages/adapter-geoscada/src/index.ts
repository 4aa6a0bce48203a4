export { geoScada, GEOSCADA_SOURCES } from "./geoscada.js";
export { geoScadaItemSchema } from "./item.js";
export type { GeoScadaBrokerItem } from "./item.js";
export { geoScadaEvents, onlineState, pointsCsv, pointsFromBirths } from "./sparkplug.js";
export type { GeoScadaEvent, GeoScadaPoint, GeoScadaPointKind, SkippedMetric } from "./sparkplug.js";
