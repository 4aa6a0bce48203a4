export { codesysMqtt, CODESYS_MQTT_SOURCES } from "./codesys-mqtt.js";
