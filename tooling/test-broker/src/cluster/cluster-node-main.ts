// One dev-broker cluster node in its own process, so a test can kill it (SIGKILL) as a host would die. Started by
// startClusterNode(); reads its options from the JSON file named by its argument and prints `{"port":N}` once it
// listens. SIGTERM closes it.
import { readFile } from "node:fs/promises";
import { startDevBroker, type BrokerPki } from "@proj/dev-broker";

interface NodeOptions {
  redis: string;
  pki: BrokerPki;
  port?: number;
  requireClientCert?: boolean;
  maxConnections?: number;
}

const options = JSON.parse(await readFile(process.argv[2]!, "utf8")) as NodeOptions;
const broker = await startDevBroker({
  cluster: { redis: options.redis },
  pki: options.pki,
  requireClientCert: options.requireClientCert ?? false,
  ...(options.port !== undefined ? { port: options.port } : {}),
  ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
  onClusterError: (error) => process.stderr.write(`cluster: ${error.message}\n`),
});
process.stdout.write(`${JSON.stringify({ port: broker.port, nodeId: broker.cluster?.nodeId })}\n`);
process.once("SIGTERM", () => {
  void broker.close().then(() => process.exit(0));
});
