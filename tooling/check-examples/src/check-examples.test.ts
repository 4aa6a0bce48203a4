import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfigs } from "./configs.js";
import { markdownBlocks } from "./extract.js";
import { GENERATED_DIR, ROOT, workspacePackages } from "./repo.js";
import { checkSnippets } from "./snippets.js";

/** A README of a real package, so the package's exports and its listed free names apply. */
const README = join(ROOT, "packages/security-config/README.md");
const OUT_DIR = join(GENERATED_DIR, "../.generated-test");

const fence = (language: string, body: string, before = "") =>
  `${before}\n\`\`\`${language}\n${body}\n\`\`\`\n`;

describe("README blocks", () => {
  it("finds ts and json blocks with the line of their first line of code, and the invalid marker", () => {
    const text = `# Title\n${fence("ts", "const a = 1;")}${fence("sh", "ls")}${fence("json", "{}", "<!-- example: invalid -->")}`;
    const blocks = markdownBlocks(README, text);
    expect(blocks.map((b) => [b.kind, b.line, b.invalid])).toEqual([
      ["code", 4, false],
      ["json", 12, true],
    ]);
  });
});

describe("examples", () => {
  const packages = workspacePackages();
  const check = (body: string, before = "") =>
    checkSnippets(markdownBlocks(README, fence("ts", body, before)), packages, {
      outDir: OUT_DIR,
      reportUnusedAllowlist: false,
    }).failures;

  it("imports what the package exports, and fails on an API that does not exist", () => {
    expect(check('const loaded = await loadConfig("plc.json");\nconsole.log(loaded.ok);')).toEqual([]);
    expect(check('const loaded = await readConfig("plc.json");')).toEqual([
      expect.objectContaining({ line: 3, message: expect.stringContaining("Cannot find name 'readConfig'") }),
    ]);
  });

  it("declares only the free names listed for the file, with their type", () => {
    expect(check("console.log(redact(config));")).toEqual([]);
    expect(check("console.log(client);")).toEqual([
      expect.objectContaining({ message: expect.stringContaining("Cannot find name 'client'") }),
    ]);
    expect(check("config.broker.nonsense;")).toEqual([
      expect.objectContaining({ message: expect.stringContaining("nonsense") }),
    ]);
  });

  it("reports a deprecated API", () => {
    expect(check("validateConfig(config);")).toEqual([
      expect.objectContaining({ message: expect.stringContaining("validateConfig is deprecated") }),
    ]);
  });

  it("holds a block marked invalid to failing", () => {
    expect(check("readConfig();", "<!-- example: invalid -->")).toEqual([]);
    expect(check("loadConfig;", "<!-- example: invalid -->")).toEqual([
      expect.objectContaining({ message: expect.stringContaining("marked <!-- example: invalid --> but") }),
    ]);
  });
});

describe("configurations", () => {
  const config = (broker: string, security = '"trustStore": ["certs/ca.pem"]') =>
    `{\n  "broker": ${broker},\n  "security": { ${security} }\n}`;
  const check = async (language: string, body: string, before = "") =>
    (await checkConfigs(markdownBlocks(README, fence(language, body, before)))).failures;

  it("loads a configuration with real files at the paths it names", async () => {
    const security =
      '"trustStore": ["certs/ca.pem"], "sendClientCertificate": true, "keyStore": { "certificate": "certs/chain.pem", "privateKey": "certs/client.key", "passphrase": "env:KEY_PASSPHRASE" }, "crl": ["certs/ca.crl.pem"]';
    expect(await check("json", config('{ "url": "mqtts://broker.local:8883" }', security))).toEqual([]);
  });

  it("reports an error finding at the line of its field", async () => {
    const failures = await check(
      "json",
      config('{\n "url": "mqtts://broker.local:8883",\n "password": "env:PW"\n}'),
    );
    expect(failures).toEqual([
      expect.objectContaining({
        line: 4,
        message: expect.stringContaining("FIELD_INVALID at broker.username"),
      }),
    ]);
  });

  it("wants strict JSON for a configuration", async () => {
    expect(await check("jsonc", config('{ "url": "mqtts://broker.local:8883", }'))).toEqual([
      expect.objectContaining({ message: expect.stringContaining("strict JSON") }),
    ]);
    expect(await check("json", config('{ "url": "mqtts://broker.local:8883", }'))).toEqual([
      expect.objectContaining({ line: 4, message: expect.stringContaining("not valid JSON") }),
    ]);
  });

  it("holds a configuration marked invalid to an error", async () => {
    const broken = config('{ "url": "mqtt://broker.local:1883" }');
    expect(await check("json", broken, "<!-- example: invalid -->")).toEqual([]);
    expect(await check("json", config('{ "url": "mqtts://a:8883" }'), "<!-- example: invalid -->")).toEqual([
      expect.objectContaining({ message: expect.stringContaining("finds no error") }),
    ]);
  });
});
