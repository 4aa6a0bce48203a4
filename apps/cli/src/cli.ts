import { escapeControl } from "@proj/findings";
import { createRequire } from "node:module";
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CliError, isCliError, fromPkiError } from "./errors.js";
import { LAB_KEY_TYPES, REVOCATION_REASONS, isPkiError } from "@proj/pki";
import { colorsFor, type CliIo } from "./io.js";

/** The version the package was published with: from its package.json (one folder up from src/ and from dist/). */
const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}

/** `env:NAME` reads the variable, so a secret need not sit on the command line. */
function secret(io: CliIo, value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith("env:")) return value;
  const resolved = io.env[value.slice(4)];
  if (resolved === undefined)
    throw new CliError("USAGE", `the environment variable ${value.slice(4)} is not set`);
  return resolved;
}

/**
 * Runs the `mqtt-tls` command line and returns its exit code (0 success, 1 a failed check or connection, 2 a usage
 * error or an unreadable configuration). Never calls `process.exit`.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  let wroteStdout = false;
  const stdout = io.stdout ?? ((text: string) => process.stdout.write(text));
  const full: CliIo = {
    stdout: (text) => {
      wroteStdout = true;
      return stdout(text);
    },
    stderr: io.stderr ?? ((text) => process.stderr.write(text)),
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    isTty: io.isTty ?? process.stdout.isTTY === true,
  };
  let exitCode = 0;
  const program = new Command("mqtt-tls")
    .description(
      "Secure MQTT for industrial devices: check, inspect and test TLS configurations of MQTT clients.",
    )
    .version(VERSION)
    .option("--no-color", "no colour (also off under NO_COLOR or when output is not a terminal)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: full.stdout, writeErr: full.stderr })
    .addHelpText(
      "after",
      examples(
        "mqtt-tls doctor -c plc.json",
        "mqtt-tls inspect certs/*.pem",
        "mqtt-tls pki init --dir lab-pki",
        "mqtt-tls demo",
      ) + "\nExit codes: 0 success, 1 a check or connection failed, 2 usage error or unreadable config.\n",
    );
  const color = () => (program.opts<{ color: boolean }>().color ? {} : { color: false });
  const run = (action: () => Promise<number> | number) => async () => {
    exitCode = await action();
  };

  program
    .command("doctor")
    .description("static findings, the device check, then a live TLS + MQTT connect with diagnosis")
    .requiredOption("-c, --config <file>", "configuration file (JSON)")
    .option("--offline", "skip the live connect")
    .option("--json", "print one JSON document on stdout")
    .option("--profile <profile>", "baseline or iec62351-3 (default: the config's)")
    .option("--device <id>", "check against a device adapter (default: the config's device)")
    .option(
      "--timeout <ms>",
      "deadline of the live connect (default: the config's, 10 s)",
      integer("--timeout", 100, 600_000),
    )
    .addHelpText(
      "after",
      examples(
        "mqtt-tls doctor -c plc.json",
        "mqtt-tls doctor -c plc.json --device altus-nexto --profile iec62351-3",
        "mqtt-tls doctor -c plc.json --offline --json | jq .findings",
      ) +
        "\nExit: 0 no error and connected, 1 an error finding or no connection, 2 unreadable config or unknown device.\n",
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/doctor.js")).doctor(
          { ...this.opts<{ config: string }>(), ...color() },
          full,
        ),
      )();
    });

  program
    .command("inspect")
    .description(
      "what PEM, DER, PKCS#12 and CRL files hold; a bundle shown as a chain with its order and gaps",
    )
    .argument("<files...>")
    .option("--json", "print one JSON document on stdout")
    .option(
      "--passphrase <value>",
      "passphrase of encrypted keys or PKCS#12 bundles; env:NAME reads a variable",
    )
    .addHelpText(
      "after",
      examples(
        "mqtt-tls inspect broker-chain.pem",
        "mqtt-tls inspect client.p12 --passphrase env:P12_PASS",
        "mqtt-tls inspect ca.der crl.pem --json",
      ),
    )
    .action(function (this: Command, files: string[]) {
      const opts = this.opts<{ json?: boolean; passphrase?: string }>();
      const passphrase = secret(full, opts.passphrase);
      return run(async () =>
        (await import("./commands/inspect.js")).inspect(
          {
            files,
            ...(opts.json ? { json: true } : {}),
            ...(passphrase !== undefined ? { passphrase } : {}),
            ...color(),
          },
          full,
        ),
      )();
    });

  const pki = program.command("pki").description("a lab PKI: a CA, then server and client certificates");
  pki
    .command("init")
    .description("make a lab root CA and intermediate CA in a folder")
    .requiredOption("--dir <dir>", "folder to write (created if missing)")
    .addOption(new Option("--key <type>", "key type").choices(LAB_KEY_TYPES).default("ec-p256"))
    .option("--name <name>", "name in the CA subjects", "mqtt-tls lab")
    .option("--no-intermediate", "issue leaves from the root directly")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls pki init --dir lab-pki",
        "mqtt-tls pki init --dir lab-pki --key rsa2048   # for PLCs that take RSA only",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/pki.js")).pkiInit({ ...this.opts<{ dir: string }>(), ...color() }, full),
      )();
    });
  pki
    .command("issue")
    .description("issue a server or client certificate from the lab CA")
    .addArgument(new Argument("<role>", "server or client").choices(["server", "client"]))
    .requiredOption("--dir <dir>", "folder made by pki init")
    .requiredOption("--name <cn>", "common name (and file name)")
    .option("--dns <name>", "DNS name in subjectAltName (repeatable)", collect)
    .option("--ip <address>", "IP address in subjectAltName (repeatable)", collect)
    .option("--days <n>", "validity in days", integer("--days", 1, 36_500), 365)
    .addOption(new Option("--key <type>", "key type (default: the CA's)").choices(LAB_KEY_TYPES))
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls pki issue server --dir lab-pki --name broker.plant.local --ip 10.0.0.5",
        "mqtt-tls pki issue client --dir lab-pki --name line1-nx3004 --key rsa2048",
      ),
    )
    .action(function (this: Command, role: "server" | "client") {
      return run(async () =>
        (await import("./commands/pki.js")).pkiIssue(
          role,
          { ...this.opts<{ dir: string; name: string }>(), ...color() },
          full,
        ),
      )();
    });

  pki
    .command("revoke")
    .description("record the revocation of a certificate the lab CA issued (then write the CRL with pki crl)")
    .requiredOption("--dir <dir>", "folder made by pki init")
    .option("--name <cn>", "revoke every certificate issued under this common name")
    .option("--serial <hex>", "revoke the certificate with this serial number")
    .addOption(new Option("--reason <reason>", "RFC 5280 reason").choices(Object.keys(REVOCATION_REASONS)))
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls pki revoke --dir lab-pki --name line1-nx3004 --reason keyCompromise",
        "mqtt-tls pki crl --dir lab-pki --days 7",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/pki.js")).pkiRevoke({ ...this.opts<{ dir: string }>(), ...color() }, full),
      )();
    });
  pki
    .command("crl")
    .description("write the lab CA's CRL (crl.pem) listing every revoked certificate")
    .requiredOption("--dir <dir>", "folder made by pki init")
    .option("--days <n>", "days until nextUpdate", integer("--days", 1, 3650), 7)
    .option("--json", "print one JSON document on stdout")
    .addHelpText("after", examples("mqtt-tls pki crl --dir lab-pki --days 7"))
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/pki.js")).pkiCrl({ ...this.opts<{ dir: string }>(), ...color() }, full),
      )();
    });

  program
    .command("audit")
    .description("every certificate of the store and of a folder of configurations: days left, who uses it")
    .option(
      "--store <url>",
      "the certificate store (default: MQTT_TLS_STORE, or ./mqtt-tls-store.db if it exists)",
    )
    .option("--configs <dir>", "a folder of configuration files (searched recursively)")
    .option("--probe", "also the chains the brokers named by the configurations present")
    .option(
      "--warn-days <n>",
      "a certificate expiring within this many days needs action",
      integer("--warn-days", 0, 3650),
      30,
    )
    .option("--json", "print one JSON document on stdout")
    .option("--prometheus", "print the Prometheus exposition format (x509_cert_not_after, ...)")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls audit --configs plant/",
        "mqtt-tls audit --configs plant/ --probe --warn-days 60",
        "mqtt-tls audit --store postgres://db.plant.local/certs --prometheus > /var/lib/node_exporter/x509.prom",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/audit.js")).audit({ ...this.opts(), ...color() }, full),
      )();
    });

  program
    .command("rotate")
    .description(
      "a device's new key and certificate, checked against the broker before it is switched; the old one kept",
    )
    .option("--config <file>", "the configuration of the device to rotate")
    .option("--configs <dir>", "a folder of configurations: with --expiring-within, plan a fleet rotation")
    .option(
      "--expiring-within <days>",
      "only certificates expiring within this many days",
      integer("--expiring-within", 0, 36_500),
    )
    .option("--pki <dir>", "issue the new certificates from this lab CA")
    .option("--csr-out <dir>", "write a key and a CSR per device for your CA instead")
    .option("--cert <file>", "the certificate your CA signed for such a CSR (with --key)")
    .option("--key <file>", "the key written with that CSR")
    .option("--store <url>", "the certificate store for store:NAME key stores (default: MQTT_TLS_STORE)")
    .option("--dry-run", "print the plan, change nothing")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls rotate --configs plant/ --expiring-within 30 --dry-run",
        "mqtt-tls rotate --config plant/line1-plc.json --pki lab-pki",
        "mqtt-tls rotate --config plant/line1-plc.json --csr-out csr/   # then, signed:",
        "mqtt-tls rotate --config plant/line1-plc.json --cert line1-plc.crt --key csr/line1-plc.key",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/rotate.js")).rotate({ ...this.opts(), ...color() }, full),
      )();
    });

  const store = program
    .command("store")
    .description("the certificate store: named certificate items with versions, keys sealed at rest");
  const storeOption = () =>
    new Option(
      "--store <url>",
      "a file (SQLite) or postgres:// URL (default: MQTT_TLS_STORE, else ./mqtt-tls-store.db)",
    );
  store
    .command("add")
    .description(
      "import a certificate item, or a certificate-and-key item (a new version if the name exists)",
    )
    .argument("<name>", "item name (letters, digits, . _ -)")
    .option("--cert <file>", "certificate file, PEM or DER (repeatable: chain, trust store)", collect)
    .option("--key <file>", "the private key of the first certificate, PEM or DER")
    .option("--p12 <file>", "a PKCS#12 bundle instead of --cert and --key")
    .option("--passphrase-env <var>", "environment variable holding the key file's or bundle's passphrase")
    .addOption(storeOption())
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls store add broker-ca --cert ca.crt",
        "MQTT_TLS_STORE_PASSPHRASE=... mqtt-tls store add line1-plc --cert line1-plc-chain.crt --key line1-plc.key",
        "mqtt-tls store add scada --p12 scada.p12 --passphrase-env P12_PASSPHRASE",
      ),
    )
    .action(function (this: Command, name: string) {
      return run(async () =>
        (await import("./commands/store.js")).storeAdd(name, { ...this.opts(), ...color() }, full),
      )();
    });
  store
    .command("list")
    .description("the newest version of every item: kind, certificates, days left")
    .addOption(storeOption())
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples("mqtt-tls store list", "mqtt-tls store list --store postgres://db.plant.local/certs --json"),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/store.js")).storeList({ ...this.opts(), ...color() }, full),
      )();
    });
  store
    .command("show")
    .description("every version of an item")
    .argument("<name>", "item name")
    .addOption(storeOption())
    .option("--json", "print one JSON document on stdout")
    .addHelpText("after", examples("mqtt-tls store show line1-plc"))
    .action(function (this: Command, name: string) {
      return run(async () =>
        (await import("./commands/store.js")).storeShow(name, { ...this.opts(), ...color() }, full),
      )();
    });
  store
    .command("export")
    .description("write an item as PEM files (chain, key 0600) or a PKCS#12 bundle")
    .argument("<name>", "item name")
    .requiredOption("--out <dir>", "folder to write to")
    .addOption(
      new Option("--format <format>", "pem, p12, or device (a device adapter's files)")
        .choices(["pem", "p12", "device"])
        .default("pem"),
    )
    .option("--device <id>", "with --format device: the device whose files to write (mqtt-tls devices)")
    .option("--trust <name>", "with --format device: a certificate item for the device's trust store")
    .option(
      "--passphrase-env <var>",
      "environment variable holding the PKCS#12 passphrase (default: P12_PASSPHRASE)",
    )
    .addOption(storeOption())
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls store export line1-plc --out plc-files",
        "mqtt-tls store export line1-plc --out . --format p12",
        "mqtt-tls store export line1-plc --out nexto --format device --device altus-nexto --trust broker-ca",
      ),
    )
    .action(function (this: Command, name: string) {
      return run(async () =>
        (await import("./commands/store.js")).storeExport(
          name,
          { ...this.opts<{ out: string }>(), ...color() },
          full,
        ),
      )();
    });
  store
    .command("rm")
    .description("remove an item with all its versions")
    .argument("<name>", "item name")
    .addOption(storeOption())
    .option("--json", "print one JSON document on stdout")
    .addHelpText("after", examples("mqtt-tls store rm old-plc"))
    .action(function (this: Command, name: string) {
      return run(async () =>
        (await import("./commands/store.js")).storeRemove(name, { ...this.opts(), ...color() }, full),
      )();
    });

  program
    .command("pub")
    .description("publish one message with a configuration")
    .requiredOption("-c, --config <file>", "configuration file (JSON)")
    .requiredOption("-t, --topic <topic>", "topic")
    .requiredOption("-m, --message <text>", "payload")
    .option("--qos <n>", "0, 1 or 2", integer("--qos", 0, 2), 0)
    .option("--retain", "retain the message")
    .option("--client-id <id>", "clientId instead of the config's")
    .addHelpText("after", examples('mqtt-tls pub -c plc.json -t plant/line1/level -m "72.4" --qos 1'))
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/pubsub.js")).pub(
          { ...this.opts<{ config: string; topic: string; message: string }>(), ...color() },
          full,
        ),
      )();
    });

  program
    .command("sub")
    .description("subscribe with a configuration and print topic and payload per message")
    .requiredOption("-c, --config <file>", "configuration file (JSON)")
    .requiredOption("-t, --topic <filter>", "topic filter")
    .option("--qos <n>", "0, 1 or 2", integer("--qos", 0, 2), 1)
    .option("--count <n>", "stop after n messages", integer("--count", 1, 1_000_000))
    .option(
      "--client-id <id>",
      "clientId instead of the config's (a publisher with the same id would take the session)",
    )
    .option(
      "--timeout <s>",
      "with --count: give up after s seconds (exit 1)",
      integer("--timeout", 1, 86_400),
    )
    .addHelpText(
      "after",
      examples(
        "mqtt-tls sub -c scada.json -t 'plant/#'",
        "mqtt-tls sub -c scada.json -t 'nexto/#' --count 4 --timeout 10",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/pubsub.js")).sub(
          { ...this.opts<{ config: string; topic: string }>(), ...color() },
          full,
        ),
      )();
    });

  program
    .command("broker")
    .description("the dev broker (aedes) over TLS on loopback, mutual TLS from a lab PKI folder")
    .option("--port <n>", "TLS port (default: a free one)", integer("--port", 1, 65_535))
    .option("--pki <dir>", "lab PKI folder from pki init (default: a temporary one)")
    .option("--require-client-cert", "refuse clients without a valid certificate")
    .option("--strict-identity", "refuse a client whose clientId is not its certificate's CN")
    .option("--server-name <name>", "server certificate to use or issue from the PKI", "localhost")
    .option("--duration <s>", "stop by itself after s seconds", integer("--duration", 1, 86_400))
    .option(
      "--cluster <redis-url>",
      "one node of a cluster: nodes on one Redis share sessions, subscriptions and retained messages",
    )
    .addHelpText(
      "after",
      examples(
        "mqtt-tls broker --pki lab-pki --require-client-cert --port 8883",
        "mqtt-tls broker --pki lab-pki --port 8883 --cluster redis://127.0.0.1:6379 & mqtt-tls broker --pki lab-pki --port 8884 --cluster redis://127.0.0.1:6379",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/broker.js")).broker({ ...this.opts(), ...color() }, full),
      )();
    });

  program
    .command("mosquitto-conf")
    .description("the Mosquitto listener block that matches a configuration")
    .requiredOption("-c, --config <file>", "configuration file (JSON)")
    .option("--certfile <file>", "the broker's certificate chain (default: a placeholder path)")
    .option("--keyfile <file>", "the broker's key (default: a placeholder path)")
    .option("--crlfile <file>", "the CRL of revoked client certificates (pki crl writes crl.pem)")
    .option(
      "--acl-file <file>",
      "an ACL keyed on certificate identities (mqtt-tls sparkplug acl writes one); with mutual TLS",
    )
    .addHelpText(
      "after",
      examples(
        "mqtt-tls mosquitto-conf -c plc.json >> /etc/mosquitto/conf.d/tls.conf",
        "mqtt-tls mosquitto-conf -c plc.json --crlfile lab-pki/crl.pem",
        "mqtt-tls sparkplug acl --host scada > sparkplug.acl && mqtt-tls mosquitto-conf -c plc.json --acl-file sparkplug.acl",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/mosquitto-conf.js")).mosquittoConf(
          { ...this.opts<{ config: string }>(), ...color() },
          full,
        ),
      )();
    });

  program
    .command("rabbitmq-conf")
    .description("the rabbitmq.conf lines of an MQTT-over-TLS listener that matches a configuration")
    .requiredOption("-c, --config <file>", "configuration file (JSON)")
    .option("--certfile <file>", "the broker's certificate chain (default: a placeholder path)")
    .option("--keyfile <file>", "the broker's key (default: a placeholder path)")
    .option("--port <n>", "the MQTT listener's port (default: the URL's)", integer("--port", 1, 65_535))
    .addHelpText(
      "after",
      examples(
        "mqtt-tls rabbitmq-conf -c plc.json >> /etc/rabbitmq/rabbitmq.conf",
        "mqtt-tls rabbitmq-conf -c plc.json --certfile certs/broker-chain.pem --keyfile certs/broker.key",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/rabbitmq-conf.js")).rabbitmqConf(
          { ...this.opts<{ config: string }>(), ...color() },
          full,
        ),
      )();
    });

  program
    .command("fleet")
    .description(
      "a fleet of simulated devices, each with its own certificate: connect times, rates, failures",
    )
    .requiredOption("-c, --config <file>", "configuration the devices start from (JSON)")
    .requiredOption("--pki <dir>", "lab PKI from pki init: device certificates are issued and cached there")
    .requiredOption("--devices <n>", "number of devices", integer("--devices", 1, 100_000))
    .option("--rate <n>", "messages per second per device", integer("--rate", 1, 1000), 1)
    .option(
      "--ramp <s>",
      "seconds over which devices start (default: devices/200)",
      integer("--ramp", 0, 3600),
    )
    .option("--duration <s>", "seconds of publishing", integer("--duration", 1, 3600), 10)
    .option("--qos <n>", "0 or 1", integer("--qos", 0, 1), 0)
    .option("--reconnect", "then drop every connection once and measure the reconnect and TLS session reuse")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples("mqtt-tls fleet -c plc.json --pki lab --devices 200 --rate 1 --duration 20"),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/fleet.js")).fleet(
          { ...this.opts<{ config: string; pki: string; devices: number; rate: number }>(), ...color() },
          full,
        ),
      )();
    });

  const sparkplug = program
    .command("sparkplug")
    .description(
      "Sparkplug B 3.0 over mutual TLS: a simulated edge node, a primary host, payloads, broker ACLs",
    );
  sparkplug
    .command("edge")
    .description("a simulated Sparkplug B edge node: births, report-by-exception data, rebirths, commands")
    .requiredOption("-c, --config <file>", "configuration file (JSON), mutual TLS")
    .option("--group <id>", "Sparkplug group id (default: the config's sparkplug.groupId)")
    .option("--node <id>", "edge node id (default: the config's sparkplug.edgeNodeId)")
    .option("--device <id>", "a device of the node, with the simulated metrics (repeatable)", collect)
    .option("--metrics-from <sim>", "a device simulator's tags as metrics, e.g. nexto-sim")
    .option("--primary-host <id>", "wait for this host's STATE before the births")
    .option("--bdseq-file <file>", "keep bdSeq across restarts in this file")
    .option("--rate <hz>", "publish rounds per second", integer("--rate", 1, 1000), 1)
    .option("--duration <s>", "stop after s seconds (default: on Ctrl-C)", integer("--duration", 1, 86_400))
    .option("--json", "print one JSON document on stdout at the end")
    .addHelpText(
      "after",
      examples(
        "mqtt-tls sparkplug edge -c plc.json --group Plant1 --node line1-nx3004 --metrics-from nexto-sim",
        "mqtt-tls sparkplug edge -c plc.json --group Plant1 --node gw1 --device tank1 --primary-host scada --duration 60 --json",
      ),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/sparkplug.js")).sparkplugEdge(
          { ...this.opts<{ config: string }>(), ...color() },
          full,
        ),
      )();
    });
  sparkplug
    .command("host")
    .description("a Sparkplug B primary host application: STATE, the model learned from births, seq checks")
    .requiredOption("-c, --config <file>", "configuration file (JSON), mutual TLS")
    .option("--host-id <id>", "host id for STATE (default: the config's sparkplug.hostId)")
    .option("--duration <s>", "stop after s seconds (default: on Ctrl-C)", integer("--duration", 1, 86_400))
    .option(
      "--reorder-timeout <ms>",
      "wait this long for a missing seq before asking for a rebirth",
      integer("--reorder-timeout", 0, 60_000),
    )
    .option("--points-csv <file>", "write the Geo SCADA points the births make, as CSV")
    .option("--json", "print one JSON document on stdout at the end")
    .addHelpText(
      "after",
      examples("mqtt-tls sparkplug host -c scada.json --host-id scada --duration 30 --json"),
    )
    .action(function (this: Command) {
      return run(async () =>
        (await import("./commands/sparkplug.js")).sparkplugHost(
          { ...this.opts<{ config: string }>(), ...color() },
          full,
        ),
      )();
    });
  sparkplug
    .command("decode")
    .description("one Sparkplug B payload, binary or hex, as text or JSON")
    .argument("[file]", "payload file, or - for stdin (default: stdin)")
    .option("--hex", "the input is hexadecimal text")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples("mqtt-tls sparkplug decode nbirth.bin --json", "echo 0803 | mqtt-tls sparkplug decode --hex"),
    )
    .action(function (this: Command, file?: string) {
      return run(async () =>
        (await import("./commands/sparkplug.js")).sparkplugDecode(file, { ...this.opts(), ...color() }, full),
      )();
    });
  sparkplug
    .command("acl")
    .description(
      "a Mosquitto acl_file keyed on certificate identities: an edge node publishes only as itself",
    )
    .option("--host <identity[=hostId]>", "a host application's certificate identity (repeatable)", collect)
    .option("--node <group/node>", "pin an edge node to its group (repeatable; default: any group)", collect)
    .addHelpText(
      "after",
      examples("mqtt-tls sparkplug acl --host scada --node Plant1/line1-plc > sparkplug.acl"),
    )
    .action(function (this: Command) {
      return run(async () => (await import("./commands/sparkplug.js")).sparkplugAcl(this.opts(), full))();
    });

  program
    .command("devices")
    .description("the device adapters and their profiles, with the source of every fact")
    .argument("[id]", "one adapter, in full")
    .option("--json", "print one JSON document on stdout")
    .addHelpText(
      "after",
      examples("mqtt-tls devices", "mqtt-tls devices altus-nexto", "mqtt-tls devices --json"),
    )
    .action(function (this: Command, id?: string) {
      return run(async () =>
        (await import("./commands/devices.js")).devices(
          { ...(id ? { id } : {}), ...this.opts(), ...color() },
          full,
        ),
      )();
    });

  program
    .command("demo")
    .description(
      "the end-to-end demo on the embedded broker (a simulated Nexto PLC, a SCADA subscriber, doctor)",
    )
    .addHelpText("after", examples("mqtt-tls demo"))
    .action(async () => {
      const { runDemo } = await import("./demo.js");
      const result = await runDemo(full.stdout, {
        color: colorsFor(full, !program.opts<{ color: boolean }>().color).isColorSupported,
      });
      exitCode = result.ok ? 0 : 1;
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (thrown) {
    const error = isPkiError(thrown) ? fromPkiError(thrown) : thrown;
    // With --json, stdout is one JSON document whatever happened: a failure before the command could print its
    // own is that document's only finding.
    const asJson = (code: string, message: string, remedy: string | undefined) => {
      if (!argv.includes("--json") || wroteStdout) return;
      const finding = { code, severity: "error", message, ...(remedy ? { remedy } : {}) };
      full.stdout(`${JSON.stringify({ ok: false, findings: [finding] }, null, 2)}\n`);
    };
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.exitCode === 0
      )
        return 0;
      asJson("USAGE", error.message.replace(/^error: /, ""), "Run with --help for usage.");
      return 2;
    }
    const c = colorsFor(full);
    if (isCliError(error)) {
      full.stderr(
        `${c.red("✖")} ${escapeControl(error.message)}\n${error.remedy ? `  ${c.green("→")} ${error.remedy}\n` : ""}`,
      );
      asJson(error.code, error.message, error.remedy);
      return error.exitCode;
    }
    // Any other failure still ends as one coded line, never a stack trace: a library's coded error keeps its code.
    const { code, remedy } = (error ?? {}) as { code?: unknown; remedy?: unknown };
    const message = error instanceof Error ? error.message : String(error);
    full.stderr(
      `${c.red("✖")} ${typeof code === "string" ? `${code}: ` : "unexpected error: "}${escapeControl(message)}\n${typeof remedy === "string" ? `  ${c.green("→")} ${remedy}\n` : ""}`,
    );
    asJson(
      typeof code === "string" && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : "FAILED",
      message,
      typeof remedy === "string" ? remedy : undefined,
    );
    return 1;
  }
}
