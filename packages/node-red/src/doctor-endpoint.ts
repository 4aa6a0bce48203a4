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

/** Where a broker node connects to, as far as sending it the deployed password is concerned. */
function addressOf(definition: NodeDefinition): string {
  if (definition.type === "mqtt-tls-broker") {
    const config = isObject(definition.config) ? definition.config : {};
    return JSON.stringify(isObject(config.broker) ? config.broker.url : undefined);
  }
  return JSON.stringify([definition.broker, definition.port, definition.usetls]);
}

/**
 * The target to diagnose. The deployed broker password goes only to the broker it was deployed for: an edited
 * node that points elsewhere is diagnosed without it (a note says so), so the doctor cannot be used to send a
 * stored password to another server.
 */
function targetOf(
  RED: NodeRedApi,
  broker: NodeDefinition,
  tls: NodeDefinition | undefined,
): { target: DoctorTarget; notes: Finding[] } {
  const brokerCredentials = credentialsOf(RED, broker);
  const notes: Finding[] = [];
  const deployed = broker.id ? deployedDefinition(RED, broker.id) : undefined;
  const typed =
    isObject(broker.credentials) && typeof broker.credentials.password === "string"
      ? broker.credentials.password
      : "";
  if (
    deployed &&
    addressOf(deployed) !== addressOf(broker) &&
    (typed === "" || typed === "__PWRD__") &&
    brokerCredentials.password !== undefined
  ) {
    delete brokerCredentials.password;
    notes.push(
      createFinding(
        "FIELD_IGNORED",
        "info",
        "The deployed password was not sent: the node now points at another broker than the one it was deployed for.",
        { path: "broker.password", remedy: "Type the password again to diagnose with it, or deploy first." },
      ),
    );
  }
  if (broker.type === "mqtt-tls-broker")
    return {
      target: { kind: "mqtt-tls-broker", config: broker.config, credentials: brokerCredentials },
      notes,
    };
  return {
    target: {
      kind: "mqtt-broker",
      broker,
      tls,
      brokerCredentials,
      tlsCredentials: tls ? credentialsOf(RED, tls) : {},
    },
    notes,
  };
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
