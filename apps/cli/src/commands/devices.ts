import { PROFILE_FACTS, describeKeySupport, type Adapter, type DeviceProfile } from "@proj/adapter-kit";
import { DEVICES, deviceById } from "../devices.js";
import { colorsFor, table, type CliIo, type Colors } from "../io.js";

export interface DevicesOptions {
  id?: string;
  json?: boolean;
  color?: boolean;
}

const MQTT = { 3: "3.1", 4: "3.1.1", 5: "5" } as const;

function factText(profile: DeviceProfile, fact: (typeof PROFILE_FACTS)[number]): string | undefined {
  const value = profile[fact];
  if (value === undefined) return undefined;
  switch (fact) {
    case "mqttVersions":
      return profile.mqttVersions.map((v) => `MQTT ${MQTT[v]}`).join(", ");
    case "tlsVersions":
      return profile.tlsVersions.join(", ");
    case "keyTypes":
      return profile.keyTypes.map(describeKeySupport).join("; ");
    case "certEncodings":
      return profile.certEncodings.join(", ");
    case "cipherSuites":
      return (profile.cipherSuites ?? []).join(", ");
    case "maxCertBytes":
      return `${String(value)} bytes`;
    default:
      return typeof value === "boolean" ? (value ? "yes" : "no") : String(value);
  }
}

function summaryRow(adapter: Adapter, c: Colors): string {
  const p = adapter.profile;
  return `${c.bold(adapter.id.padEnd(20))} ${adapter.name}\n${" ".repeat(21)}${c.dim(
    `${p.tlsVersions.join("/")} · ${p.mqttVersions.map((v) => `MQTT ${MQTT[v]}`).join("/")} · ${p.keyTypes.map(describeKeySupport).join(", ")} · client cert ${p.supportsClientCert ? "yes" : "no"}`,
  )}\n`;
}

/** `mqtt-tls devices [ID]`: the device adapters, or one adapter's profile with the source of every fact. */
export function devices(options: DevicesOptions, io: CliIo): number {
  const c = colorsFor(io, options.color === false);
  const list = options.id === undefined ? DEVICES.list() : [deviceById(options.id)];
  if (options.json) {
    const out = list.map(({ id, name, vendor, models, description, profile }) => ({
      id,
      name,
      vendor,
      models,
      description,
      profile,
    }));
    io.stdout(`${JSON.stringify({ ok: true, findings: [], devices: out }, null, 2)}\n`);
    return 0;
  }
  if (options.id === undefined) {
    for (const adapter of list) io.stdout(summaryRow(adapter, c));
    io.stdout(
      `\n${c.dim("mqtt-tls devices <id> shows a profile with the source of each fact; --device <id> checks a config against it.")}\n`,
    );
    return 0;
  }
  const adapter = list[0]!;
  io.stdout(
    `${c.bold(adapter.name)} (${adapter.id}), ${adapter.vendor}\n${adapter.description ? `${adapter.description}\n` : ""}Models: ${adapter.models.join(", ")}\n\n`,
  );
  const rows: [string, string][] = [];
  for (const fact of PROFILE_FACTS) {
    const text = factText(adapter.profile, fact);
    if (text === undefined) continue;
    const source = adapter.profile.sources[fact];
    rows.push([
      fact,
      `${text}\n${source?.kind === "documented" ? c.green("documented") : c.yellow("assumed")}: ${source?.title ?? "?"}${source?.url ? `\n${c.dim(source.url)}` : ""}${source?.note ? `\n${c.dim(source.note)}` : ""}`,
    ]);
  }
  io.stdout(`${table(rows, c)}\n`);
  return 0;
}
