export { beckhoffTf6701, BECKHOFF_TF6701_SOURCES } from "./beckhoff-tf6701.js";
