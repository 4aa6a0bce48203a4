export { abbAc500, ABB_AC500_SOURCES } from "./abb-ac500.js";
