/**
 * Which Node-RED the tests run: Node-RED 5 needs Node.js 22.9 or later, so on such a Node (CI's Node 24 leg) the
 * tests run Node-RED 5, and on Node 20 Node-RED 4.1, as users on each Node would.
 */
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
export const NODE_RED_PACKAGE = major > 22 || (major === 22 && minor >= 9) ? "node-red-5" : "node-red";
