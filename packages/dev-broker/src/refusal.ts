import mqttPacket from "mqtt-packet";
import type { TLSSocket } from "node:tls";

/** The most a refused client may send before its CONNECT is complete (a CONNECT with a large will fits). */
const MAX_CONNECT_BYTES = 64 * 1024;

/**
 * Answers a client whose certificate the broker refused the way MQTT lets a broker say why: its CONNECT gets a
 * CONNACK "not authorized" (MQTT 3.1.1 return code 5; MQTT 5 reason code 0x87 with the reason as its reason
 * string), then the connection ends. A client that sends no CONNECT within `deadlineMs`, or anything else, is
 * closed. The socket never reaches the broker.
 */
export function answerRefused(socket: TLSSocket, reason: string, deadlineMs: number): void {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  let received = 0;
  const timer = setTimeout(() => socket.destroy(), deadlineMs);
  timer.unref();
  const finish = (): void => {
    clearTimeout(timer);
    socket.removeAllListeners("data");
  };
  socket.once("close", finish);
  socket.on("error", () => socket.destroy());
  parser.on("packet", (packet) => {
    finish();
    if (packet.cmd !== "connect") {
      socket.destroy();
      return;
    }
    const v5 = packet.protocolVersion === 5;
    const connack = mqttPacket.generate(
      v5
        ? { cmd: "connack", sessionPresent: false, reasonCode: 0x87, properties: { reasonString: reason } }
        : { cmd: "connack", sessionPresent: false, returnCode: 5 },
      { protocolVersion: v5 ? 5 : 4 },
    );
    socket.end(connack);
  });
  parser.on("error", () => {
    finish();
    socket.destroy();
  });
  socket.on("data", (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_CONNECT_BYTES) {
      finish();
      socket.destroy();
      return;
    }
    parser.parse(chunk);
  });
}
