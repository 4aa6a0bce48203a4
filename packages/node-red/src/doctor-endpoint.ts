import { createFinding, orderFindings, type Finding } from "@proj/findings";
import { NODE_RED_DEVICES } from "./devices.js";
import { diagnoseBroker, type DoctorTarget } from "./doctor.js";
import type { NodeDefinition, NodeRedApi } from "./red.js";

/** The admin API path of the doctor. */
export const DOCTOR_PATH = "/mqtt-tls/doctor";

/** The admin API path of the device list the broker node's editor offers. */
export const DEVICES_PATH = "/mqtt-tls/devices";

/** The permission the doctor needs: it connects from the Node-RED host, so reading flows is not enough. */
export const DOCTOR_PERMISSION = "mqtt-tls-broker.write";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A node definition the editor sent: its id and type must be strings. */
const asDefinition = (value: unknown): NodeDefinition | undefined =>
  isObject(value) && typeof value.type === "string"
    ? ({ ...value, id: typeof value.id === "string" ? value.id : "" } as NodeDefinition)
    : undefined;

/**
 * The credentials to diagnose with: what the editor holds (a new upload, a typed passphrase), over what is
 * deployed for that node id. Node-RED's editor sends `__PWRD__` for a password it kept but never saw: that means
 * "the deployed one".
 */
function credentialsOf(RED: NodeRedApi, definition: NodeDefinition): Record<string, string> {
  const deployed = (definition.id ? RED.nodes.getCredentials(definition.id) : undefined) ?? {};
  const fromEditor = isObject(definition.credentials) ? definition.credentials : {};
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployed)) if (typeof value === "string") merged[key] = value;
  for (const [key, value] of Object.entries(fromEditor))
    if (typeof value === "string" && value !== "" && value !== "__PWRD__") merged[key] = value;
  return merged;
}

function deployedDefinition(RED: NodeRedApi, id: string): NodeDefinition | undefined {
  let found: NodeDefinition | undefined;
  RED.nodes.eachNode((definition) => {
    if (definition.id === id) found = definition;
  });
  return found;
}

/**
 * Whom a broker node would send its password to, and how it would know the broker is the right one: the URL and
 * every setting of server authentication (a stored password must not go to another server, nor to the same URL
 * without its certificate checked).
 */
function audienceOf(
  broker: NodeDefinition,
  brokerCredentials: Record<string, string>,
  tls: NodeDefinition | undefined,
  tlsCredentials: Record<string, string>,
): string {
  if (broker.type === "mqtt-tls-broker") {
    const config = isObject(broker.config) ? broker.config : {};
    const security = isObject(config.security) ? config.security : {};
    return JSON.stringify([
      isObject(config.broker) ? config.broker.url : undefined,
      ...["enableTls", "checkServerCertificate", "trustStore", "serverName", "pinnedCertificates"].map(
        (field) => security[field],
      ),
      brokerCredentials.trustStore,
    ]);
  }
  return JSON.stringify([
    ...["broker", "port", "usetls", "tls", "verifyservercert"].map((field) => broker[field]),
    ...["verifyservercert", "ca", "servername"].map((field) => tls?.[field]),
    tlsCredentials.cadata,
  ]);
}

/** Every `env:` value in `value`, by its path: the doctor reads the environment only where a deploy put it. */
function envValues(value: unknown, path = "", found = new Map<string, string>()): Map<string, string> {
  if (typeof value === "string" && value.startsWith("env:")) found.set(path, value);
  else if (Array.isArray(value)) value.forEach((item, i) => envValues(item, `${path}[${i}]`, found));
  else if (isObject(value))
    for (const [key, item] of Object.entries(value)) envValues(item, path ? `${path}.${key}` : key, found);
  return found;
}

/**
 * An `env:` value in what the editor sent that the deployed node does not hold at the same place: the doctor
 * would read the runtime's environment for a caller and send it to a broker of the caller's choosing.
 */
function foreignEnvValue(
  RED: NodeRedApi,
  sent: Record<string, NodeDefinition | undefined>,
): string | undefined {
  for (const [role, definition] of Object.entries(sent)) {
    if (!definition) continue;
    const deployed = definition.id ? deployedDefinition(RED, definition.id) : undefined;
    const allowed = envValues({
      ...deployed,
      credentials: (definition.id ? RED.nodes.getCredentials(definition.id) : undefined) ?? {},
    });
    for (const [path, value] of envValues(definition))
      if (allowed.get(path) !== value) return `${role}.${path}`;
  }
  return undefined;
}

/**
 * The target to diagnose. The deployed broker password goes only to the broker it was deployed for, checked as it
 * was deployed: an edited node that points elsewhere, or checks the broker less, is diagnosed without it (a note
 * says so), so the doctor cannot be used to send a stored password to another server.
 */
function targetOf(
  RED: NodeRedApi,
  broker: NodeDefinition,
  tls: NodeDefinition | undefined,
): { target: DoctorTarget; notes: Finding[] } {
  const brokerCredentials = credentialsOf(RED, broker);
  const tlsCredentials = tls ? credentialsOf(RED, tls) : {};
  const notes: Finding[] = [];
  const deployed = broker.id ? deployedDefinition(RED, broker.id) : undefined;
  const typed =
    isObject(broker.credentials) && typeof broker.credentials.password === "string"
      ? broker.credentials.password
      : "";
  if (deployed && (typed === "" || typed === "__PWRD__") && brokerCredentials.password !== undefined) {
    const deployedTlsId = typeof deployed.tls === "string" ? deployed.tls : "";
    const deployedTls = deployedTlsId ? deployedDefinition(RED, deployedTlsId) : undefined;
    const deployedAudience = audienceOf(
      deployed,
      credentialsOf(RED, { ...deployed, credentials: {} }),
      deployedTls,
      deployedTls ? credentialsOf(RED, { ...deployedTls, credentials: {} }) : {},
    );
    if (deployedAudience !== audienceOf(broker, brokerCredentials, tls, tlsCredentials)) {
      delete brokerCredentials.password;
      notes.push(
        createFinding(
          "FIELD_IGNORED",
          "info",
          "The deployed password was not sent: the node now points at another broker, or checks it differently, than when it was deployed.",
          {
            path: "broker.password",
            remedy: "Type the password again to diagnose with it, or deploy first.",
          },
        ),
      );
    }
  }
  if (broker.type === "mqtt-tls-broker")
    return {
      target: { kind: "mqtt-tls-broker", config: broker.config, credentials: brokerCredentials },
      notes,
    };
  return { target: { kind: "mqtt-broker", broker, tls, brokerCredentials, tlsCredentials }, notes };
}

const BROKER_TYPES = new Set(["mqtt-tls-broker", "mqtt-broker"]);

/**
 * Adds `POST /mqtt-tls/doctor` to Node-RED's admin API, behind `RED.auth.needsPermission`. The body is
 * `{ "id": "<node id>" }` for a deployed broker node, or `{ "node": {...}, "tls": {...} }` for what the editor
 * holds (credentials it does not hold are taken from the deployed node of the same id). The answer is
 * `{ ok, findings, connection? }`, the cause first; a body that names no broker node is a 400, an unknown id a 404.
 * No secret is ever part of an answer. `GET /mqtt-tls/devices` lists the devices the editor offers.
 *
 * @example
 * ```ts
 * module.exports = (RED: NodeRedApi) => registerDoctorEndpoint(RED);
 * ```
 */
export function registerDoctorEndpoint(RED: NodeRedApi): void {
  const baseDir = RED.settings.userDir ?? process.cwd();
  RED.httpAdmin.get(DEVICES_PATH, RED.auth.needsPermission("mqtt-tls-broker.read"), (_request, response) => {
    response.json(NODE_RED_DEVICES.list().map(({ id, name }) => ({ id, name })));
  });
  RED.httpAdmin.post(DOCTOR_PATH, RED.auth.needsPermission(DOCTOR_PERMISSION), (request, response) => {
    const body = isObject(request.body) ? request.body : {};
    let broker: NodeDefinition | undefined;
    let tls: NodeDefinition | undefined;
    if (typeof body.id === "string") {
      broker = deployedDefinition(RED, body.id);
      if (!broker) {
        response.status(404).json({
          ok: false,
          findings: [
            createFinding(
              "FIELD_INVALID",
              "error",
              `No deployed node has the id ${JSON.stringify(body.id)}.`,
              {
                remedy: "Deploy the flow first, or send the node as the editor holds it ({ node, tls }).",
              },
            ),
          ],
        });
        return;
      }
      const tlsId = typeof broker.tls === "string" ? broker.tls : "";
      tls = tlsId ? deployedDefinition(RED, tlsId) : undefined;
    } else {
      broker = asDefinition(body.node);
      tls = asDefinition(body.tls);
    }
    const foreign = typeof body.id === "string" ? undefined : foreignEnvValue(RED, { node: broker, tls });
    if (foreign) {
      response.status(400).json({
        ok: false,
        findings: [
          createFinding(
            "FIELD_INVALID",
            "error",
            `${foreign}: an env: value is read only from a deployed node, where the deploy put it.`,
            { path: foreign, remedy: "Deploy the node first, then diagnose it by its id." },
          ),
        ],
      });
      return;
    }
    if (!broker || !BROKER_TYPES.has(broker.type)) {
      response.status(400).json({
        ok: false,
        findings: [
          createFinding(
            "FIELD_INVALID",
            "error",
            `The doctor diagnoses mqtt-tls-broker and mqtt-broker nodes${broker ? `, not ${broker.type}` : ""}.`,
            { remedy: 'Send { "id": "<broker node id>" } or { "node": {...}, "tls": {...} }.' },
          ),
        ],
      });
      return;
    }
    const { target, notes } = targetOf(RED, broker, tls);
    diagnoseBroker(target, { baseDir }).then(
      (answer) => response.json({ ...answer, findings: orderFindings([...answer.findings, ...notes]) }),
      (error: unknown) =>
        response.status(500).json({
          ok: false,
          findings: [
            createFinding("FIELD_INVALID", "error", `The doctor failed: ${(error as Error).message}.`),
          ],
        }),
    );
  });
}
