export { nexto, NEXTO_SOURCES } from "./nexto.js";
