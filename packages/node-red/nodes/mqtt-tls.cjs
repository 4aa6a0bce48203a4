// The file Node-RED loads (package.json "node-red".nodes); its editor is mqtt-tls.html beside it.
module.exports = require("../dist/index.cjs").mqttTlsNodes;
