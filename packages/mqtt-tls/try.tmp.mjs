import mqtt from "mqtt";
import { readFileSync } from "node:fs";
const [, , version, who] = process.argv;
const c = mqtt.connect("mqtts://127.0.0.1:28883", {
  protocolVersion: Number(version),
  ca: readFileSync("/tmp/rmq/ca.pem"),
  cert: readFileSync(`/tmp/rmq/${who}.pem`),
  key: readFileSync(`/tmp/rmq/${who}.key`),
  reconnectPeriod: 0,
  connectTimeout: 5000,
  clientId: "try-" + who,
});
c.on("packetreceive", (p) =>
  console.log(
    "recv",
    p.cmd,
    p.returnCode ?? p.reasonCode ?? "",
    JSON.stringify(p.granted ?? p.properties ?? ""),
  ),
);
c.on("error", (e) => console.log("error", e.code, e.message));
c.on("close", () => {
  console.log("close");
  process.exit(0);
});
c.on("connect", async () => {
  console.log("connected");
  const g = await c.subscribeAsync("t/x", { qos: 2 });
  console.log("granted", JSON.stringify(g));
  c.on("message", (t, m, p) => console.log("msg", t, m.toString(), "qos", p.qos));
  try {
    await c.publishAsync("t/x", "q2", { qos: 2 });
    console.log("qos2 publish done");
  } catch (e) {
    console.log("pub err", e.message);
  }
  await new Promise((r) => setTimeout(r, 500));
  await c.endAsync();
});
setTimeout(() => {
  console.log("timeout");
  process.exit(1);
}, 7000);
