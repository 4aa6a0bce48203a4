import type { Finding } from "@proj/findings";
import type { DoctorConnection } from "@proj/mqtt-tls";

/**
 * The part of Node-RED's runtime API these nodes use (the `RED` object a node module receives), typed here so the
 * package needs no Node-RED types at run time. Node-RED 4.1 and 5 both provide it.
 */
export interface NodeRedApi {
  readonly nodes: {
    createNode(node: object, definition: NodeDefinition): void;
    registerType(
      type: string,
      constructor: (this: RedNode, definition: NodeDefinition) => void,
      options?: { credentials?: Record<string, { type: "text" | "password" }> },
    ): void;
    getNode<T extends RedNode = RedNode>(id: string): T | null;
    getCredentials(id: string): Record<string, unknown> | undefined;
    eachNode(callback: (definition: NodeDefinition) => void): void;
  };
  readonly httpAdmin: {
    post(path: string, ...handlers: RequestHandler[]): unknown;
    get(path: string, ...handlers: RequestHandler[]): unknown;
  };
  readonly auth: { needsPermission(permission: string): RequestHandler };
  readonly settings: { readonly userDir?: string };
}

/** An express request handler, as far as the doctor endpoint needs one. */
export type RequestHandler = (request: AdminRequest, response: AdminResponse, next: () => void) => void;

/** The admin API request the doctor reads. */
export interface AdminRequest {
  readonly body: unknown;
}

/** The admin API response the doctor writes. */
export interface AdminResponse {
  status(code: number): AdminResponse;
  json(body: unknown): void;
}

/** A node's definition in a flow: its id, type and the properties its editor saved. */
export interface NodeDefinition {
  readonly id: string;
  readonly type: string;
  readonly name?: string;
  readonly z?: string;
  readonly [property: string]: unknown;
}

/** What a node shows under itself in the editor. */
export interface NodeStatus {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}

/** A message in a flow. */
export interface FlowMessage {
  topic?: unknown;
  payload?: unknown;
  qos?: unknown;
  retain?: unknown;
  [property: string]: unknown;
}

/** A running node, as Node-RED's `createNode` makes it. */
export interface RedNode {
  readonly id: string;
  readonly type: string;
  readonly name?: string;
  credentials: Record<string, unknown> | undefined;
  status(status: NodeStatus | Record<string, never>): void;
  send(message: FlowMessage | FlowMessage[]): void;
  log(message: string): void;
  warn(message: string): void;
  error(message: string, message2?: FlowMessage): void;
  on(event: "close", listener: (removed: boolean, done: () => void) => void): void;
  on(
    event: "input",
    listener: (message: FlowMessage, send: (m: FlowMessage) => void, done: (error?: Error) => void) => void,
  ): void;
}

/** The answer of the doctor: the same shape as `mqtt-tls doctor --json`. */
export interface DoctorAnswer {
  ok: boolean;
  findings: Finding[];
  connection?: DoctorConnection;
}
