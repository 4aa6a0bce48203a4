// A real Node-RED, started as its own process the way a user runs it (red.js with a user folder and a settings
// file), with this package installed in the user folder's node_modules and an admin API behind a login.
import { freePort, killOnExit, stopProcess } from "@proj/test-broker";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NODE_RED_PACKAGE } from "./node-red-version.js";

const require = createRequire(import.meta.url);
const RED_JS = join(dirname(require.resolve(`${NODE_RED_PACKAGE}/package.json`)), "red.js");
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** The editor's users: `admin` may do everything, `viewer` may only read. */
const USERS = {
  admin: { password: "admin-login-pw", permissions: "*" },
  viewer: { password: "viewer-login-pw", permissions: "read" },
} as const;

export interface NodeRedProcess extends AsyncDisposable {
  /** The editor and admin API, `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly userDir: string;
  /** Everything Node-RED printed so far (its log). */
  output(): string;
  /** An admin API access token for one of {@link USERS}. */
  token(user: keyof typeof USERS): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts Node-RED with `flows` (and their `credentials`, stored unencrypted in the test's user folder, and `files`
 * written there first) on a free loopback port; resolves once the flows have started.
 */
export async function startNodeRed(
  flows: object[],
  credentials: Record<string, object>,
  files: Record<string, string | Uint8Array> = {},
): Promise<NodeRedProcess> {
  const userDir = await mkdtemp(join(tmpdir(), "node-red-"));
  for (const [name, contents] of Object.entries(files)) {
    await mkdir(dirname(join(userDir, name)), { recursive: true });
    await writeFile(join(userDir, name), contents);
  }
  await mkdir(join(userDir, "node_modules", "@proj"), { recursive: true });
  await symlink(PACKAGE_DIR, join(userDir, "node_modules", "@proj", "node-red-mqtt-tls"), "dir");
  await writeFile(join(userDir, "package.json"), JSON.stringify({ name: "node-red-project", private: true }));
  await writeFile(join(userDir, "flows.json"), JSON.stringify(flows));
  await writeFile(join(userDir, "flows_cred.json"), JSON.stringify(credentials));
  const port = await freePort("127.0.0.1");
  const settings = join(userDir, "settings.cjs");
  await writeFile(
    settings,
    `const USERS = ${JSON.stringify(USERS)};
const user = (name) => (USERS[name] ? { username: name, permissions: USERS[name].permissions } : null);
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${port},
  userDir: ${JSON.stringify(userDir)},
  flowFile: "flows.json",
  credentialSecret: false,
  adminAuth: {
    type: "credentials",
    users: async (name) => user(name),
    authenticate: async (name, password) => (USERS[name] && USERS[name].password === password ? user(name) : null),
  },
  logging: { console: { level: "info", metrics: false, audit: false } },
  diagnostics: { enabled: false },
  telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
};
`,
  );
  const child = spawn(process.execPath, [RED_JS, "--userDir", userDir, "--settings", settings], {
    // Node-RED's working folder is not its user folder (as in its Docker image): paths relative to one are not
    // relative to the other.
    cwd: tmpdir(),
    env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const close = async () => {
    await stopProcess(child);
    await rm(userDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED did not start in 30 s:\n${output}`)), 30_000);
      const check = () => {
        if (output.includes("Started flows")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", check);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Node-RED exited (${code}):\n${output}`));
      });
    });
  } catch (error) {
    await close();
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    userDir,
    output: () => output,
    async token(name) {
      const response = await fetch(`${url}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_id: "node-red-admin",
          grant_type: "password",
          scope: USERS[name].permissions,
          username: name,
          password: USERS[name].password,
        }),
      });
      if (!response.ok) throw new Error(`login as ${name} failed: ${response.status}`);
      return ((await response.json()) as { access_token: string }).access_token;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
