export { openSqliteBackend, sqliteBackend } from "./sqlite-backend.js";
