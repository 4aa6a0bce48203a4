export { openPostgresBackend, postgresBackend } from "./postgres-backend.js";
