// The part of node-red-node-test-helper's API these tests use (it ships no types).
declare module "node-red-node-test-helper" {
  interface NodeTestHelper {
    init(runtimePath: string, userSettings?: object): void;
    load(
      nodes: ((RED: never) => unknown) | ((RED: never) => unknown)[],
      flow: object[],
      credentials?: Record<string, object>,
    ): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): unknown;
    log(): unknown;
  }
  const helper: NodeTestHelper;
  export default helper;
}
