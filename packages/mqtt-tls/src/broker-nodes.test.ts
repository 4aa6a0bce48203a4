import { createFinding, type Finding } from "@proj/findings";
import { loadConfig, type BrokerUrl } from "@proj/security-config";
import { describe, expect, it } from "vitest";
import { BrokerNodes } from "./broker-nodes.js";

async function urls(...list: string[]): Promise<readonly BrokerUrl[]> {
  const loaded = await loadConfig({ broker: { url: list }, security: { enableTls: false } });
  return loaded.resolved!.urls;
}
const unreachable = (host: string) =>
  createFinding("BROKER_UNREACHABLE", "error", `No connection to ${host} (ECONNREFUSED).`, {
    remedy: "Start the broker.",
  });

describe("BrokerNodes", () => {
  it("tries the list in order, skipping entries known to be down while another may work", async () => {
    const nodes = new BrokerNodes(
      await urls("mqtt://a:1883", "mqtt://b:1883", "mqtt://c:1883"),
      () => Promise.resolve(undefined),
      () => undefined,
    );
    expect(nodes.next(0)).toBe(1);
    nodes.failed(1, unreachable("b:1883"));
    expect(nodes.next(0)).toBe(2);
    expect(nodes.next(2)).toBe(0);
    expect(nodes.allDown).toBe(false);
    nodes.failed(0, unreachable("a:1883"));
    nodes.failed(2, unreachable("c:1883"));
    // Everything down: round and round, in order.
    expect(nodes.allDown).toBe(true);
    expect(nodes.next(2)).toBe(0);
    nodes.close();
  });

  it("reports an entry down once while the client works through another, checks it, and sees it come back", async () => {
    const reported: Finding[] = [];
    let answer: Finding | undefined = unreachable("b:1883");
    const checked: string[] = [];
    const nodes = new BrokerNodes(
      await urls("mqtt://a:1883", "mqtt://b:1883"),
      (url) => {
        checked.push(url.host);
        return Promise.resolve(answer);
      },
      (finding) => reported.push(finding),
    );
    nodes.connected(1);
    nodes.dropped(1); // b went away
    nodes.connected(0); // a works: b is checked within a second
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(checked).toEqual(["b"]);
    expect(nodes.list.map((n) => n.state)).toEqual(["connected", "down"]);
    expect(reported).toEqual([
      expect.objectContaining({
        code: "BROKER_NODE_DOWN",
        severity: "warning",
        path: "broker.url[1]",
        message:
          "mqtt://b:1883 is down (BROKER_UNREACHABLE: No connection to b:1883 (ECONNREFUSED)); the client works through mqtt://a:1883.",
        remedy: "Start the broker.",
      }),
    ]);
    // A failed attempt of its own does not report it again.
    nodes.failed(1, unreachable("b:1883"));
    expect(reported).toHaveLength(1);
    answer = undefined;
    nodes.close();
  });

  it("says nothing of an entry while no other one works", async () => {
    const reported: Finding[] = [];
    const nodes = new BrokerNodes(
      await urls("mqtt://a:1883", "mqtt://b:1883"),
      () => Promise.resolve(undefined),
      (finding) => reported.push(finding),
    );
    nodes.failed(0, unreachable("a:1883"));
    expect(reported).toEqual([]);
    nodes.connected(1); // now b works: a's failure is reported
    expect(reported.map((f) => f.code)).toEqual(["BROKER_NODE_DOWN"]);
    nodes.close();
  });

  it("checks only the entries it used or tried, never one it has not gone to", async () => {
    const checked: string[] = [];
    const nodes = new BrokerNodes(
      await urls("mqtt://a:1883", "mqtt://b:1883", "mqtt://c:1883"),
      (url) => {
        checked.push(url.host);
        return Promise.resolve(undefined);
      },
      () => undefined,
    );
    nodes.connected(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(checked).toEqual([]);
    expect(nodes.list.map((n) => n.state)).toEqual(["connected", "unknown", "unknown"]);
    nodes.close();
  });
});
