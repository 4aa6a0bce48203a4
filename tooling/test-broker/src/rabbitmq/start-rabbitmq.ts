import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, killOnExit, killPidOnExit, stop, waitUntilReady } from "../process.js";
import { serviceSkipReason } from "../skip.js";

const INSTALL_HINT = "install it with `apt-get install -y rabbitmq-server`";
const RABBITMQ_BIN = "/usr/lib/rabbitmq/bin";

/** One RabbitMQ node started for tests. */
export interface RabbitMqNode {
  /** The Erlang node name, `NAME@localhost`. */
  readonly name: string;
  /** The port of the node's MQTT listener (what `config` put there). */
  readonly mqttPort: number;
  readonly pid: number;
  /** Runs `rabbitmqctl` against this node; resolves with its output, rejects with it on failure. */
  ctl(...args: string[]): Promise<string>;
  /** Kills the node at once (SIGKILL), as a crashed host would go. */
  kill(): Promise<void>;
}

/** RabbitMQ nodes started for tests (clustered when more than one). */
export interface RabbitMq extends AsyncDisposable {
  readonly nodes: readonly RabbitMqNode[];
  /**
   * Creates a user without a password (it logs in by its certificate, `ssl_cert_login`), with every right on
   * vhost `/`.
   */
  addCertificateUser(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startRabbitMq}. */
export interface RabbitMqOptions {
  /**
   * The node's `rabbitmq.conf` lines for MQTT and TLS (what `mqtt-tls rabbitmq-conf` writes), given its MQTT port.
   * The launcher adds the AMQP listener on loopback and, for a cluster, the peer list.
   */
  config: (node: { readonly mqttPort: number; readonly index: number }) => string | Promise<string>;
  /** Nodes to start, clustered through classic peer discovery. @default 1 */
  nodes?: number;
  startTimeoutMs?: number;
}

/** Whether Debian's RabbitMQ server is installed. */
export function findRabbitMq(): string | undefined {
  const server = join(RABBITMQ_BIN, "rabbitmq-server");
  return existsSync(server) ? server : undefined;
}

/**
 * Why the RabbitMQ tests cannot run here, printed once; `false` when they can, and always under `CI=true`.
 *
 * @example
 * ```ts
 * describe.skipIf(rabbitMqSkipReason())("RabbitMQ interop", () => {});
 * ```
 */
export function rabbitMqSkipReason(
  env: NodeJS.ProcessEnv = process.env,
  print: (reason: string) => void = console.warn,
): string | false {
  return serviceSkipReason(
    findRabbitMq() !== undefined,
    `RabbitMQ tests skipped: no rabbitmq-server; ${INSTALL_HINT}`,
    env,
    print,
  );
}

/** Runs a program to its end; rejects with its output when it fails. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")}: ${output}`)),
    );
  });
}

/**
 * Starts RabbitMQ 3.x nodes (Debian's `rabbitmq-server`, MQTT plugin enabled) on loopback only: the node's own
 * epmd on a free port, every listener and the Erlang distribution bound to 127.0.0.1, data and logs in a temporary
 * folder; several nodes form one cluster. A node takes 8 to 16 s to start: start them once per test file. Stopped
 * by their PIDs on `close()`.
 *
 * @example
 * ```ts
 * await using rabbit = await startRabbitMq({ config: ({ mqttPort }) => `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}\n` });
 * await rabbit.addCertificateUser("line1-plc");
 * ```
 * @throws {Error} when RabbitMQ is missing or a node does not start in time (with its log).
 */
export async function startRabbitMq(options: RabbitMqOptions): Promise<RabbitMq> {
  if (!findRabbitMq()) throw new Error(`rabbitmq-server not found: ${INSTALL_HINT}`);
  const count = options.nodes ?? 1;
  const dir = await mkdtemp(join(tmpdir(), "mqtt-tls-rabbitmq-"));
  const home = join(dir, "home");
  await mkdir(home);
  // Nodes of one cluster share the Erlang cookie; this one is made here, readable only by this user.
  await writeFile(join(home, ".erlang.cookie"), randomBytes(20).toString("hex").toUpperCase());
  await chmod(join(home, ".erlang.cookie"), 0o400);
  const epmdPort = await freePort("127.0.0.1");
  const children: ChildProcess[] = [];
  const epmd = spawn("epmd", ["-address", "127.0.0.1", "-port", String(epmdPort)], { stdio: "ignore" });
  killOnExit(epmd);
  children.push(epmd);
  const prefix = `mqtt-tls-${randomBytes(3).toString("hex")}`;
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}@localhost`);

  /** Each node's VM, killed (test data only: nothing to shut down gracefully). */
  const stoppers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(stoppers.map((kill) => kill()));
    for (const child of children.reverse()) await stop(child);
    await rm(dir, { recursive: true, force: true });
  };

  const startNode = async (index: number): Promise<RabbitMqNode> => {
    const name = names[index]!;
    const base = join(dir, `node-${index + 1}`);
    await mkdir(base);
    const [amqpPort, distPort, mqttPort, ctlPort] = await Promise.all(
      [0, 1, 2, 3].map(() => freePort("127.0.0.1")),
    );
    const lines = [
      `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
      "loopback_users = none",
      ...(count > 1
        ? [
            "cluster_formation.peer_discovery_backend = classic_config",
            ...names.map((peer, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${peer}`),
          ]
        : []),
      await options.config({ mqttPort: mqttPort!, index }),
    ];
    await writeFile(join(base, "rabbitmq.conf"), `${lines.join("\n")}\n`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      LANG: "C.UTF-8",
      ERL_EPMD_PORT: String(epmdPort),
      ERL_EPMD_ADDRESS: "127.0.0.1",
      RABBITMQ_NODENAME: name,
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CTL_DIST_PORT_MIN: String(ctlPort),
      RABBITMQ_CTL_DIST_PORT_MAX: String(ctlPort! + 10),
      RABBITMQ_MNESIA_BASE: join(base, "mnesia"),
      RABBITMQ_LOG_BASE: join(base, "log"),
      RABBITMQ_LOGS: "-",
      RABBITMQ_CONFIG_FILE: join(base, "rabbitmq.conf"),
      RABBITMQ_ENABLED_PLUGINS: "rabbitmq_mqtt",
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, "enabled_plugins"),
      RABBITMQ_PID_FILE: join(base, "rabbitmq.pid"),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
    };
    const child = spawn(join(RABBITMQ_BIN, "rabbitmq-server"), [], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      cwd: base,
    });
    killOnExit(child);
    children.push(child);
    await waitUntilReady(
      child,
      /Server startup complete/,
      `RabbitMQ node ${name}`,
      options.startTimeoutMs ?? 60_000,
      20_000,
    );
    // The script forks the Erlang VM: its PID is in the pid file RabbitMQ wrote.
    const vmPid = Number((await readFile(env.RABBITMQ_PID_FILE!, "utf8")).trim());
    const vm = killPidOnExit(vmPid);
    const exited = new Promise<void>((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
    );
    const kill = async (): Promise<void> => {
      try {
        process.kill(vmPid, "SIGKILL");
      } catch {
        // already gone
      }
      vm.forget();
      await exited;
    };
    stoppers.push(kill);
    return {
      name,
      mqttPort: mqttPort!,
      pid: child.pid!,
      ctl: (...args) => run(join(RABBITMQ_BIN, "rabbitmqctl"), ["-n", name, ...args], env),
      kill,
    };
  };

  let nodes: RabbitMqNode[];
  try {
    // Cluster nodes start together: each waits for its peers during boot.
    nodes = await Promise.all(names.map((_, i) => startNode(i)));
  } catch (error) {
    await closeAll();
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= closeAll());
  return {
    nodes,
    addCertificateUser: async (name) => {
      const node = nodes[0]!;
      await node.ctl("add_user", name, randomBytes(18).toString("hex"));
      await node.ctl("clear_password", name);
      await node.ctl("set_permissions", "-p", "/", name, ".*", ".*", ".*");
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
