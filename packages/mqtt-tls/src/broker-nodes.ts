import { createFinding, type Finding } from "@proj/findings";
import type { BrokerUrl } from "@proj/security-config";
import { backoffDelay } from "./reconnect-policy.js";

/**
 * What the client knows of one entry of its broker list: `connected` (its connection is there), `up` (its last
 * check passed), `down` (its last attempt or check failed), `unknown` (not tried yet, or its connection dropped).
 */
export type BrokerNodeState = "unknown" | "connected" | "up" | "down";

/** The health of one entry of the broker list, from {@link SecureClient.nodes}. */
export interface BrokerNodeHealth {
  /** The URL as configured, without credentials. */
  readonly url: string;
  readonly state: BrokerNodeState;
  /** Since when it is in this state (undefined while `unknown` from the start). */
  readonly since: Date | undefined;
  /** Why it is down: the diagnosis of its last failed attempt or check. */
  readonly finding: Finding | undefined;
  /** Failed attempts and checks in a row. */
  readonly failures: number;
}

/** How often a node that is down is checked while the client works through another one. */
const CHECK_BACKOFF = { minMs: 2000, maxMs: 60_000 } as const;

interface Node {
  readonly url: BrokerUrl;
  state: BrokerNodeState;
  since: Date | undefined;
  finding: Finding | undefined;
  failures: number;
  /** BROKER_NODE_DOWN was emitted for this down period. */
  reported: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The health of each entry of a client's broker list, and which one to try next: in order, skipping entries known
 * to be down while another one may work. While the client is connected, the entries it left or could not reach are
 * checked in the background (a TLS handshake, no MQTT) with backoff; each one found down while another works is
 * reported once as `BROKER_NODE_DOWN`. It owns its check timers: `close()` clears them.
 *
 * @example
 * ```ts
 * const { resolved } = await loadConfig({ broker: { url: ["mqtts://10.0.0.5:8883", "mqtts://10.0.0.6:8883"] }, security: { trustStore: ["ca.pem"] } });
 * const nodes = new BrokerNodes(resolved!.urls, (url) => checkNode(resolved!, url, 3000), (f) => console.warn(f.message));
 * nodes.failed(0, createFinding("BROKER_UNREACHABLE", "error", "No connection to 10.0.0.5:8883 (ECONNREFUSED)."));
 * const next = nodes.next(0); // 1: the entry known down is skipped
 * ```
 */
export class BrokerNodes {
  readonly #nodes: Node[];
  readonly #check: (url: BrokerUrl) => Promise<Finding | undefined>;
  readonly #report: (finding: Finding) => void;
  readonly #changed: (() => void) | undefined;
  #closed = false;

  constructor(
    urls: readonly BrokerUrl[],
    check: (url: BrokerUrl) => Promise<Finding | undefined>,
    report: (finding: Finding) => void,
    changed?: () => void,
  ) {
    this.#nodes = urls.map((url) => ({
      url,
      state: "unknown",
      since: undefined,
      finding: undefined,
      failures: 0,
      reported: false,
      timer: undefined,
    }));
    this.#check = check;
    this.#report = report;
    this.#changed = changed;
  }

  /** Each entry's health, in list order. */
  get list(): readonly BrokerNodeHealth[] {
    return this.#nodes.map(({ url, state, since, finding, failures }) => ({
      url: url.display,
      state,
      since,
      finding,
      failures,
    }));
  }

  /** Every entry failed its last attempt or check (with one entry: it did). */
  get allDown(): boolean {
    return this.#nodes.every((node) => node.state === "down");
  }

  /** The index of the entry the client is connected to, if any. */
  get connectedIndex(): number | undefined {
    const index = this.#nodes.findIndex((node) => node.state === "connected");
    return index === -1 ? undefined : index;
  }

  /** The next entry to try after `index`: in order, the first not known to be down (else simply the next). */
  next(index: number): number {
    const count = this.#nodes.length;
    for (let step = 1; step <= count; step++) {
      const candidate = (index + step) % count;
      if (this.#nodes[candidate]!.state !== "down") return candidate;
    }
    return (index + 1) % count;
  }

  /**
   * The client connected through entry `index`: entries found down meanwhile are reported, and checked. Only the
   * entries this client used or tried are checked (a fleet does not check every node it never went to); the first
   * check of one it left comes within a second, spread, so a fleet that moved does not check all at once.
   */
  connected(index: number): void {
    this.#set(index, "connected", undefined);
    for (const [i, node] of this.#nodes.entries()) {
      if (i === index) continue;
      if (node.state === "down") this.#reportDown(i);
      if (node.state === "down") this.#scheduleCheck(i);
      else if (node.state === "unknown" && node.since !== undefined)
        this.#scheduleCheck(i, Math.round(Math.random() * 1000));
    }
  }

  /** The connection through entry `index` closed: whether that node is still there is checked from elsewhere. */
  dropped(index: number): void {
    this.#set(index, "unknown", undefined);
  }

  /** An attempt at entry `index` failed with this diagnosis. */
  failed(index: number, finding: Finding): void {
    const node = this.#nodes[index]!;
    node.failures++;
    this.#set(index, "down", finding);
    if (this.connectedIndex !== undefined) this.#reportDown(index);
  }

  /** Clears every check timer; nothing is checked or reported afterwards. */
  close(): void {
    this.#closed = true;
    for (const node of this.#nodes) clearTimeout(node.timer);
  }

  #set(index: number, state: BrokerNodeState, finding: Finding | undefined): void {
    const node = this.#nodes[index]!;
    clearTimeout(node.timer);
    node.timer = undefined;
    if (state !== "down") {
      node.failures = 0;
      node.reported = false;
    }
    if (node.state !== state) node.since = new Date();
    node.state = state;
    node.finding = finding;
    this.#changed?.();
  }

  #reportDown(index: number): void {
    const node = this.#nodes[index]!;
    const working = this.#nodes[this.connectedIndex ?? -1];
    if (node.reported || !working || !node.finding) return;
    node.reported = true;
    const cause = node.finding;
    this.#report(
      createFinding(
        "BROKER_NODE_DOWN",
        "warning",
        `${node.url.display} is down (${cause.code}: ${cause.message.replace(/\.$/, "")}); the client works through ${working.url.display}.`,
        {
          path: `broker.url[${index}]`,
          remedy: cause.remedy ?? `Bring ${node.url.display} back, or take it out of the broker list.`,
        },
      ),
    );
  }

  /** Checks entry `index` after `delayMs` (default: its backoff), while the client is connected elsewhere. */
  #scheduleCheck(index: number, delayMs?: number): void {
    const node = this.#nodes[index]!;
    if (this.#closed || this.#nodes.length < 2) return;
    clearTimeout(node.timer);
    const delay = delayMs ?? backoffDelay(node.failures, CHECK_BACKOFF);
    node.timer = setTimeout(() => {
      node.timer = undefined;
      if (this.#closed || this.connectedIndex === undefined || this.connectedIndex === index) return;
      void this.#check(node.url)
        .then((finding) => {
          if (this.#closed || node.state === "connected") return;
          if (finding) {
            this.failed(index, finding);
            this.#scheduleCheck(index);
          } else this.#set(index, "up", undefined);
        })
        // A check that throws (or a listener that does) says nothing of the node: it is simply not checked again.
        .catch(() => undefined);
    }, delay);
    node.timer.unref();
  }
}
