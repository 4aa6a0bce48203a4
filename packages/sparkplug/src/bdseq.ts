import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { SparkplugError } from "./errors.js";

/**
 * The birth/death sequence number of an edge node: one per MQTT CONNECT, 0–255 then 0 again, kept in a file (when
 * given) so a restarted edge node goes on from where it stopped instead of repeating a number its host has seen.
 * The number of a CONNECT is taken synchronously (mqtt.js builds the packet at once); the next one is written in the
 * background right away, long before the next CONNECT can want it, and `flush()` waits for it.
 */
export class BdSeqCounter {
  #next: number;
  #current: number | undefined;
  readonly #file: string | undefined;
  readonly #onError: (error: SparkplugError) => void;
  /** The writes, one after another: the file always ends with the latest number. */
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string | undefined, first: number, onError: (error: SparkplugError) => void) {
    this.#file = file;
    this.#next = first;
    this.#onError = onError;
  }

  /**
   * Opens the counter: the file's number (0 without a file, or when the file does not exist yet), written back at
   * once so a folder that cannot be written fails now, not on the first reconnect.
   *
   * @param onError told when a later number cannot be stored (the session goes on: the number stays unique until
   * this process restarts).
   * @throws {SparkplugError} `BDSEQ_STORE_FAILED` when the file holds no number 0–255 or cannot be written.
   */
  static async open(
    file: string | undefined,
    onError: (error: SparkplugError) => void,
  ): Promise<BdSeqCounter> {
    if (file === undefined) return new BdSeqCounter(undefined, 0, onError);
    const counter = new BdSeqCounter(file, await readStored(file), onError);
    await store(file, counter.#next);
    return counter;
  }

  /** The bdSeq of the current session (of the last `next()`). */
  get current(): number | undefined {
    return this.#current;
  }

  /** Takes the bdSeq of a new CONNECT, and stores the one after it. */
  next(): number {
    const value = this.#next;
    this.#current = value;
    this.#next = (value + 1) % 256;
    const file = this.#file;
    if (file !== undefined) {
      const next = this.#next;
      this.#writing = this.#writing
        .then(() => store(file, next))
        .catch((error: unknown) => this.#onError(error as SparkplugError));
    }
    return value;
  }

  /** Resolves once the last number taken has its successor on disk. */
  flush(): Promise<void> {
    return this.#writing;
  }
}

async function readStored(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw new SparkplugError("BDSEQ_STORE_FAILED", `The bdSeq file ${file} cannot be read.`, {
      cause: error,
    });
  }
  const value = Number(text.trim());
  if (!Number.isInteger(value) || value < 0 || value > 255)
    throw new SparkplugError("BDSEQ_STORE_FAILED", `The bdSeq file ${file} holds no number 0–255.`, {
      remedy:
        "Delete the file to start again from 0 (the host then sees a new session), or write the last bdSeq + 1.",
    });
  return value;
}

async function store(file: string, value: number): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    // Written aside and renamed: a crash mid-write leaves the previous number, never half of one.
    await writeFile(`${file}.tmp`, `${value}\n`);
    await rename(`${file}.tmp`, file);
  } catch (error) {
    throw new SparkplugError("BDSEQ_STORE_FAILED", `The bdSeq file ${file} cannot be written.`, {
      cause: error,
    });
  }
}
