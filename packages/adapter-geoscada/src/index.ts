export { geoScada, GEOSCADA_SOURCES } from "./geoscada.js";
export { geoScadaItemSchema } from "./item.js";
export type { GeoScadaBrokerItem } from "./item.js";
