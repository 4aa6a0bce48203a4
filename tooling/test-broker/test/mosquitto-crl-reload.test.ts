/**
 * What Mosquitto does with its `crlfile` when the CRL changes, measured: the documented revocation procedure
 * (`mqtt-tls pki revoke`, `pki crl`, then SIGHUP, and a restart to drop a connected device) follows this test.
 */
import mqtt from "mqtt";
import { copyFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { createTestPki, mosquittoSkipReason, probeMqtt, startMosquitto } from "../src/index.js";

describe.skipIf(mosquittoSkipReason())("Mosquitto and a CRL that changes", () => {
  it("re-reads the crlfile on SIGHUP: new connections of a revoked certificate are refused, a connected one stays", async () => {
    await using pki = await createTestPki({ name: "crl-reload" });
    const stolen = await pki.issueClient({ name: "plc7" });
    const empty = await pki.createCrl({ revoke: [] });
    await using mosquitto = await startMosquitto({ pki, requireCertificate: true, crl: empty });
    const tls = { ca: pki.caPem, cert: stolen.chain, key: stolen.key };
    expect((await probeMqtt(mosquitto.url, { ...tls, clientId: "plc7-probe" })).connected).toBe(true);
    const connected = await mqtt.connectAsync(mosquitto.url, {
      ...tls,
      clientId: "plc7",
      reconnectPeriod: 0,
    });
    let closed = false;
    connected.on("close", () => (closed = true));

    // The CRL file is replaced in place, as `mqtt-tls pki crl` does, then Mosquitto is told to reload.
    const revoking = await pki.createCrl({ revoke: [stolen] });
    await copyFile(revoking.file, empty.file);
    process.kill(mosquitto.pid, "SIGHUP");
    await expect
      .poll(async () => (await probeMqtt(mosquitto.url, { ...tls, clientId: "plc7-again" })).error?.message, {
        timeout: 5000,
        interval: 250,
      })
      .toMatch(/alert certificate revoked/);

    // The session already open is not re-checked: it keeps working until Mosquitto restarts or the device reconnects.
    await connected.publishAsync("plant/line1/level", "1", { qos: 1 });
    expect(closed).toBe(false);
    await connected.endAsync();
  });
});
