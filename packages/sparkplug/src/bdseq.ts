import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { SparkplugError } from "./errors.js";

/**
 * The birth/death sequence number of an edge node: one per MQTT CONNECT, 0–255 then 0 again, kept in a file (when
 * given) so a restarted edge node goes on from where it stopped instead of repeating a number its host has seen.
 */
export class BdSeqCounter {
  #next: number;
  #current: number | undefined;
  readonly #file: string | undefined;
  readonly #onError: (error: SparkplugError) => void;

  /**
   * @param onError told when the next number cannot be stored (the session goes on: the number is still unique
   * until this process restarts).
   * @throws {SparkplugError} `BDSEQ_STORE_FAILED` when the file exists but holds no number 0–255, or cannot be
   * written now.
   */
  constructor(file: string | undefined, onError: (error: SparkplugError) => void) {
    this.#file = file;
    this.#onError = onError;
    this.#next = file === undefined ? 0 : readStored(file);
    if (file !== undefined) store(file, this.#next);
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
    if (this.#file !== undefined)
      try {
        store(this.#file, this.#next);
      } catch (error) {
        this.#onError(error as SparkplugError);
      }
    return value;
  }
}

function readStored(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
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

function store(file: string, value: number): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    // Written aside and renamed: a crash mid-write leaves the previous number, never half of one.
    writeFileSync(`${file}.tmp`, `${value}\n`);
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    throw new SparkplugError("BDSEQ_STORE_FAILED", `The bdSeq file ${file} cannot be written.`, {
      cause: error,
    });
  }
}
