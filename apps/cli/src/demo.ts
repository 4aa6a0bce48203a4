import { renderFindings } from "@proj/findings";
import { simulateDevice } from "@proj/adapter-kit";
import { nexto } from "@proj/adapter-nexto";
import { connectSecure } from "@proj/mqtt-tls";
import type { Finding } from "@proj/findings";
import { startDevBroker } from "@proj/dev-broker";
import { createTestPki } from "@proj/pki";
import { initLabPki, revokeLabCertificate, writeLabCrl } from "@proj/pki";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { audit } from "./commands/audit.js";
import { doctor, type DoctorReport } from "./commands/doctor.js";
import { rotate } from "./commands/rotate.js";
import { colorsFor, type CliIo } from "./io.js";
import { sparkplugStep, type SparkplugDemo } from "./demo-sparkplug.js";

/** The result of {@link runDemo}. */
export interface DemoResult {
  /** The PLC's tags reached the SCADA server over TLS 1.2, the good config passed, both broken ones were named. */
  ok: boolean;
  /** TLS version the simulated PLC negotiated. */
  plcTlsVersion: string | undefined;
  /** Topics the SCADA subscriber received, in order. */
  received: string[];
  /** What the Sparkplug step showed: the points Geo SCADA would make, and what the host saw. */
  sparkplug: SparkplugDemo;
  /** Error codes doctor found for each broken configuration, and for the PLC once its certificate was revoked. */
  diagnoses: { wrongCa: string[]; expiredClient: string[]; revoked: string[] };
  /** Certificates the audit listed, and how many needed action. */
  audit: { certificates: number; needAction: number };
  /** The PLC's certificate serial before and after its rotation. */
  rotation: { from: string; to: string } | undefined;
}

/**
 * The end-to-end demo, in a temporary folder: a lab PKI, the embedded broker with mutual TLS, a simulated Altus
 * Nexto PLC publishing tags over TLS 1.2, a SCADA-side subscriber, the same PLC as a Sparkplug B edge node with the
 * SCADA server as its primary host, the doctor report of the PLC's configuration, then two broken configurations (a wrong CA, an expired client certificate) diagnosed, an audit of the fleet, one
 * rotation checked against the broker before it is switched, and one revocation the broker enforces. Ends by itself.
 *
 * @example
 * ```ts
 * const { ok } = await runDemo((text) => process.stdout.write(text));
 * ```
 */
export async function runDemo(
  write: (text: string) => void,
  options: { color?: boolean } = {},
): Promise<DemoResult> {
  const io: CliIo = {
    stdout: write,
    stderr: () => undefined,
    env: process.env,
    cwd: process.cwd(),
    isTty: options.color === true,
  };
  const c = colorsFor(io);
  const step = (n: number, text: string) => write(`\n${c.bold(`${n}.`)} ${c.bold(text)}\n`);

  step(1, "A lab PKI, made now in a temporary folder (root CA → intermediate CA → leaves)");
  await using pki = await createTestPki({ name: "demo", keyType: "rsa2048", intermediate: true });
  const plc = await pki.issueClient({ name: "line1-nx3004" });
  const scada = await pki.issueClient({ name: "scada-server" });
  const expired = await pki.issueClient({ name: "line2-nx3003", expired: true });
  await using otherSite = await createTestPki({ name: "other-site" });
  write(`   root          ${pki.root.subject}\n   intermediate  ${pki.intermediate!.subject}\n`);
  write(
    `   broker        ${pki.server.subject} (localhost, 127.0.0.1, ::1)\n   clients       CN=${plc.name} (RSA 2048, for the PLC), CN=${scada.name}\n`,
  );

  step(
    2,
    "The embedded broker on 127.0.0.1: TLS only, client certificate required, clientId = certificate CN",
  );
  // The site's own lab CA issues renewals (step 9); the broker trusts it beside the demo PKI.
  const labDir = join(pki.dir, "lab-ca");
  await initLabPki({ dir: labDir, keyType: "rsa2048" });
  const labCa =
    (await readFile(join(labDir, "ca.crt"), "utf8")) +
    (await readFile(join(labDir, "intermediate-ca.crt"), "utf8"));
  const brokerOptions = {
    pki,
    clientCa: [pki.root.cert, pki.intermediate!.cert, labCa],
    requireClientCert: true,
    bindClientIdToCn: true,
    onClient: (client: {
      clientId: string;
      tlsVersion: string | undefined;
      certificate: { subjectCn: string | undefined } | undefined;
    }) =>
      write(
        `   ${c.green("+")} ${client.clientId.padEnd(13)} connected: ${client.tlsVersion}, certificate CN=${client.certificate?.subjectCn}\n`,
      ),
  };
  let broker = await startDevBroker(brokerOptions);
  // Step 10 restarts it; whichever runs at the end is closed, whatever happens on the way.
  await using _running = { [Symbol.asyncDispose]: () => broker.close() };
  write(`   listening on ${broker.url}\n`);

  const configOf = (leaf: typeof plc, trustStore = pki.caFile) => ({
    broker: { url: broker.url, clientId: leaf.name },
    security: {
      trustStore: [trustStore],
      sendClientCertificate: true,
      keyStore: { certificate: leaf.files.chain, privateKey: leaf.files.key },
    },
  });
  const files = {
    plc: join(pki.dir, "line1-nx3004.json"),
    wrongCa: join(pki.dir, "wrong-ca.json"),
    expired: join(pki.dir, "expired-client.json"),
  };
  await writeFile(files.plc, JSON.stringify({ ...configOf(plc), device: nexto.id }, null, 2));
  await writeFile(files.wrongCa, JSON.stringify(configOf(plc, otherSite.caFile), null, 2));
  await writeFile(files.expired, JSON.stringify(configOf(expired), null, 2));

  step(
    3,
    `mqtt-tls doctor -c line1-nx3004.json (device ${nexto.id}: the check and the live connect use TLS 1.2 only)`,
  );
  const indent = (text: string) => write(text.replace(/^(?=.)/gm, "   "));
  const plcExit = await doctor({ config: "line1-nx3004.json" }, { ...io, cwd: pki.dir, stdout: indent });

  step(4, "The SCADA server subscribes; the simulated Nexto PLC publishes its tags");
  const received: string[] = [];
  let plcTlsVersion: string | undefined;
  {
    await using subscriber = await connectSecure(configOf(scada));
    subscriber.on("message", (topic: string, payload: Buffer) => {
      received.push(topic);
      write(`   SCADA received ${topic} ${payload.toString()}\n`);
    });
    await subscriber.subscribe("nexto/#", { qos: 1 });
    await using device = await simulateDevice(
      nexto,
      { ...configOf(plc), device: nexto.id },
      { rounds: 2, intervalMs: 100 },
    );
    plcTlsVersion = device.tlsInfo?.protocol;
    write(`   PLC ${device.clientId}: ${plcTlsVersion}, MQTT 3.1.1, topics ${device.topics[0]} ...\n`);
    await device.done;
    const deadline = Date.now() + 3000;
    while (received.length < device.topics.length * 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
  }

  step(
    5,
    "Sparkplug B over the same mutual TLS: the Nexto PLC as an edge node, the SCADA server as its primary host",
  );
  const sparkplug = await sparkplugStep(
    { ...configOf(plc), device: nexto.id },
    configOf(scada),
    (text) => write(`   ${text}\n`),
    c,
  );

  const diagnose = async (file: string): Promise<Finding[]> => {
    let json = "";
    await doctor({ config: file, json: true }, { ...io, stdout: (text) => (json += text) });
    const report = JSON.parse(json) as DoctorReport;
    const errors = report.findings.filter((f) => f.severity === "error");
    indent(renderFindings(errors, c));
    return errors;
  };
  step(6, "A broken configuration: the PLC trusts another site's CA");
  const wrongCa = await diagnose(files.wrongCa);
  step(7, "A broken configuration: the client certificate expired yesterday");
  const expiredClient = await diagnose(files.expired);

  step(8, "mqtt-tls audit --configs .: every certificate of the fleet, soonest to expire first, who uses it");
  let auditJson = "";
  await audit({ configs: ".", json: true }, { ...io, cwd: pki.dir, stdout: (text) => (auditJson += text) });
  await audit({ configs: "." }, { ...io, cwd: pki.dir, stdout: indent });
  const audited = JSON.parse(auditJson) as { certificates: { findings: unknown[] }[] };
  const auditSummary = {
    certificates: audited.certificates.length,
    needAction: audited.certificates.filter((cert) => cert.findings.length > 0).length,
  };

  step(
    9,
    "mqtt-tls rotate --config line1-nx3004.json --pki lab-ca: a new key, checked against the broker, then switched",
  );
  const serialOf = async () =>
    new X509Certificate(await readFile(plc.files.chain)).serialNumber.toUpperCase();
  const from = await serialOf();
  await rotate({ config: "line1-nx3004.json", pki: "lab-ca" }, { ...io, cwd: pki.dir, stdout: indent });
  const to = await serialOf();
  const rotation = to === from ? undefined : { from, to };

  step(
    10,
    "The PLC is stolen: revoke its certificate, restart the broker with the CRL, and the broker refuses it",
  );
  const revoked = await revokeLabCertificate({ dir: labDir, serial: to, reason: "keyCompromise" });
  const labCrl = await writeLabCrl({ dir: labDir, days: 7 });
  write(
    `   revoked serial ${revoked.map((r) => r.serial).join(", ")}; ${labCrl.file.slice(pki.dir.length + 1)} written\n`,
  );
  await broker.close();
  // Node checks the CRL of every CA of a client's chain: the demo PKI's CRLs go along with the lab CA's.
  broker = await startDevBroker({
    ...brokerOptions,
    port: broker.port,
    crl: [labCrl, await pki.createCrl(), await pki.createCrl({ issuer: "root" })],
  });
  const revokedPlc = await diagnose(files.plc);
  await broker.close();

  const diagnoses = {
    wrongCa: wrongCa.map((f) => f.code),
    expiredClient: expiredClient.map((f) => f.code),
    revoked: revokedPlc.map((f) => f.code),
  };
  const ok =
    plcExit === 0 &&
    plcTlsVersion === "TLSv1.2" &&
    received.length >= nexto.simulation.tags.length * 2 &&
    diagnoses.wrongCa.includes("SERVER_CERT_UNTRUSTED") &&
    diagnoses.expiredClient.includes("CERT_EXPIRED") &&
    auditSummary.needAction > 0 &&
    sparkplug.ok &&
    rotation !== undefined &&
    diagnoses.revoked[0] === "CLIENT_CERT_REVOKED";
  write(
    `\n${ok ? c.green("Done:") : c.red("FAILED:")} ${
      ok
        ? "the PLC's tags reached SCADA over mutual TLS 1.2, as plain MQTT and as Sparkplug B, both broken configurations were named with their fix, the audit found what needs action, the rotation was checked before it was switched, and the revoked PLC was refused."
        : "see the steps above."
    }\n`,
  );
  return { ok, plcTlsVersion, received, sparkplug, diagnoses, audit: auditSummary, rotation };
}
