import { createTestPki, type TestPki } from "@proj/pki";
import { createPrivateKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendFactory } from "./backend.js";
import { isCertStoreError } from "./errors.js";
import { openCertStore, type CertStore } from "./store.js";

/** A fresh, empty store location for one test, from {@link describeStoreContract}'s caller. */
export interface ContractStore {
  readonly location: string;
  readonly backends: readonly BackendFactory[];
}

/** What {@link describeStoreContract} needs of a backend: fresh empty stores, and cleanup at the end. */
export interface StoreContractTarget {
  /** A new empty store for each call (a new file, a new database or schema). */
  fresh(): Promise<ContractStore>;
  /** Runs after the suite. */
  cleanup?(): Promise<void>;
  /** A reason to skip (the server is not there on a developer machine), or false. Never skip where CI=true. */
  readonly skip?: string | false;
}

const PASSPHRASE = "store-pass-Xq7-never-print";

/**
 * Registers the behaviour every store backend must show with Vitest: items of both kinds, versions, PEM/DER/PKCS#12
 * import, keys sealed at rest and read back only with the passphrase, a wrong passphrase refused with nothing
 * written, an invalid import refused with nothing written, removal and pruning.
 *
 * @example
 * ```ts
 * // my-backend.test.ts
 * import { describeStoreContract } from "@proj/cert-store/testing";
 * describeStoreContract("my backend", { fresh: async () => ({ location: "my://store", backends: [myBackend] }) });
 * ```
 */
export function describeStoreContract(name: string, target: StoreContractTarget): void {
  describe.skipIf(target.skip)(`certificate store contract: ${name}`, () => {
    let pki: TestPki;
    beforeAll(async () => {
      pki = await createTestPki({ name: "cert-store-contract", intermediate: true, keyType: "rsa2048" });
    });
    afterAll(async () => {
      await pki?.cleanup();
      await target.cleanup?.();
    });

    async function open(
      passphrase: string | undefined = PASSPHRASE,
    ): Promise<CertStore & { at: ContractStore }> {
      const at = await target.fresh();
      const store = await openCertStore(at.location, { backends: at.backends, passphrase });
      return Object.assign(store, { at });
    }
    const reopen = (at: ContractStore, passphrase?: string) =>
      openCertStore(at.location, { backends: at.backends, passphrase });

    it("keeps trust items and certificate-and-key items, leaf first, with versions", async () => {
      await using store = await open();
      const trust = await store.add("broker-ca", { certificates: [pki.caPem] });
      expect(trust.item).toMatchObject({ name: "broker-ca", kind: "certificate", version: 1, hasKey: false });
      // The chain file comes intermediate first here: the key decides which certificate leads.
      const plc = await store.add("line1-plc", {
        certificates: [pki.intermediate!.cert + pki.client.cert],
        key: pki.client.exportKey({ passphrase: "file-pass" }),
        keyPassphrase: "file-pass",
      });
      expect(plc.item).toMatchObject({ kind: "certificate-and-key", version: 1, hasKey: true });
      expect(plc.item.certificates.map((c) => c.serial)).toEqual([
        pki.client.serial,
        pki.intermediate!.serial,
      ]);
      const key = await store.getKey("line1-plc");
      expect(createPrivateKey(key).export({ type: "pkcs8", format: "pem" })).toBe(pki.client.key);

      const renewed = await pki.issueClient({ name: "client" });
      const second = await store.add("line1-plc", { certificates: [renewed.chain], key: renewed.key });
      expect(second.item.version).toBe(2);
      expect((await store.get("line1-plc")).certificates[0]!.serial).toBe(renewed.serial);
      expect((await store.get("line1-plc", { version: 1 })).certificates[0]!.serial).toBe(pki.client.serial);
      expect((await store.history("line1-plc")).map((v) => v.version)).toEqual([1, 2]);
      expect((await store.list()).map((i) => [i.name, i.version])).toEqual([
        ["broker-ca", 1],
        ["line1-plc", 2],
      ]);
      expect(await store.remove("line1-plc", { keepNewest: 1 })).toBe(1);
      expect((await store.history("line1-plc")).map((v) => v.version)).toEqual([2]);
      expect(await store.remove("broker-ca")).toBe(1);
      await expect(store.get("broker-ca")).rejects.toMatchObject({ code: "STORE_ITEM_NOT_FOUND" });
    });

    it("imports DER and PKCS#12 (modern and legacy) and exports PEM and PKCS#12", async () => {
      await using store = await open();
      const der = await store.add("root-der", { certificates: [pki.root.certDer] });
      expect(der.item.certificates[0]!.pem).toBe(pki.caPem);
      expect(der.findings.map((f) => f.code)).toEqual(["NOT_PEM_DER"]);
      for (const encryption of ["modern", "legacy"] as const) {
        const p12 = pki.client.toPkcs12({ passphrase: "p12-pass", encryption });
        const { item } = await store.add(`plc-${encryption}`, { pkcs12: p12, pkcs12Passphrase: "p12-pass" });
        expect(item.certificates[0]!.serial).toBe(pki.client.serial);
        expect(item.hasKey).toBe(true);
      }
      const pem = await store.exportPem("plc-legacy");
      expect(pem.chain.startsWith(pki.client.cert)).toBe(true);
      expect(createPrivateKey(pem.key!).export({ type: "pkcs8", format: "pem" })).toBe(pki.client.key);
      const exported = await store.exportPkcs12("plc-modern", { passphrase: "out-pass" });
      const back = await store.add("plc-again", { pkcs12: exported, pkcs12Passphrase: "out-pass" });
      expect(back.item.certificates[0]!.fingerprint256).toBe(pki.client.fingerprint256);
    });

    it("refuses an import that cannot be used, and writes nothing", async () => {
      await using store = await open();
      const other = await pki.issueClient({ name: "other", keySlot: "other-key" });
      const refusals = [
        store.add("mismatch", { certificates: [pki.client.chain], key: other.key }),
        store.add("no-pass", {
          certificates: [pki.client.chain],
          key: pki.client.exportKey({ passphrase: "x" }),
        }),
        store.add("garbage", { certificates: [Buffer.from("not a certificate at all, just text")] }),
        store.add("bad-p12", { pkcs12: Buffer.from([1, 2, 3]) }),
      ];
      const codes = await Promise.all(
        refusals.map((p) =>
          p.then(
            () => "added",
            (e: unknown) => (isCertStoreError(e) ? [e.code, e.findings[0]?.code] : e),
          ),
        ),
      );
      expect(codes).toEqual([
        ["STORE_ITEM_INVALID", "KEY_CERT_MISMATCH"],
        ["STORE_ITEM_INVALID", "KEY_ENCRYPTED_NO_PASSPHRASE"],
        ["STORE_ITEM_INVALID", "NOT_PEM"],
        ["STORE_ITEM_INVALID", "NOT_PEM_PKCS12"],
      ]);
      expect(await store.list()).toEqual([]);
    });

    it("seals keys: nothing of a key or the passphrase is stored in clear, a wrong passphrase opens nothing and writes nothing", async () => {
      const first = await open();
      await first.add("line1-plc", { certificates: [pki.client.chain], key: pki.client.key });
      await first.close();
      const wrong = await reopen(first.at, "not-the-passphrase").catch((e: unknown) => e);
      expect(wrong).toMatchObject({ name: "CertStoreError", code: "STORE_PASSPHRASE_WRONG" });
      expect(String((wrong as Error).message)).not.toContain("not-the-passphrase");
      await using noPassphrase = await reopen(first.at);
      // Certificates are public: listed without the passphrase; the key is not.
      expect((await noPassphrase.get("line1-plc")).certificates[0]!.serial).toBe(pki.client.serial);
      await expect(noPassphrase.getKey("line1-plc")).rejects.toMatchObject({
        code: "STORE_PASSPHRASE_MISSING",
      });
      await expect(
        noPassphrase.add("another", { certificates: [pki.client.chain], key: pki.client.key }),
      ).rejects.toMatchObject({ code: "STORE_PASSPHRASE_MISSING" });
      expect((await noPassphrase.list()).map((i) => i.name)).toEqual(["line1-plc"]);
      await using right = await reopen(first.at, PASSPHRASE);
      expect(createPrivateKey(await right.getKey("line1-plc")).export({ type: "pkcs8", format: "pem" })).toBe(
        pki.client.key,
      );
    });
  });
}
