/** Persistence of durable instances: one JSON file per instance, replaced atomically on every change. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../shared/fs";

/** Runtime status as the Durable Functions HTTP API reports it. */
export type RuntimeStatus = "Pending" | "Running" | "Completed" | "Failed" | "Terminated";

/** A history event in the wire shape the replay engine reads (PascalCase fields). */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

/** Everything the host knows about one orchestration instance. */
export interface InstanceRecord {
  instanceId: string;
  name: string;
  /** Changes on continueAsNew; work items carry it so stale completions are dropped. */
  executionId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  parent?: { instanceId: string; executionId: string; taskScheduledId: number };
  /** Committed history: every event the orchestrator has already seen. */
  history: HistoryEvent[];
  /** New events (completions, raised events, fired timers) waiting for the next episode. */
  inbox: HistoryEvent[];
}

/** Reads and writes instance records under `<stateDir>/instances`. */
export class InstanceStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, "instances");
  }

  /** Creates the directory. */
  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  #file(instanceId: string): string {
    return path.join(this.dir, `${encodeURIComponent(instanceId)}.json`);
  }

  /** Durably writes a record (temp file + fsync + rename): after this returns, a crash keeps it. */
  async save(record: InstanceRecord): Promise<void> {
    await writeFileAtomic(this.#file(record.instanceId), JSON.stringify(record));
  }

  /** Deletes a record (purge). */
  async remove(instanceId: string): Promise<void> {
    await fs.rm(this.#file(instanceId), { force: true });
  }

  /** Loads every record; leftover temp files from an interrupted write are removed. */
  async loadAll(): Promise<InstanceRecord[]> {
    const out: InstanceRecord[] = [];
    for (const name of await fs.readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith(".tmp")) {
        await fs.rm(file, { force: true });
        continue;
      }
      if (!name.endsWith(".json")) continue;
      out.push(JSON.parse(await fs.readFile(file, "utf8")) as InstanceRecord);
    }
    return out;
  }
}
