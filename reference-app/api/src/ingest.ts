import { evaluateAlerts } from "./alerts.ts";
import type { Repository } from "./db/repository.ts";
import type { Logger } from "./log.ts";
import type { TelemetryRecord } from "./telemetry.ts";

/** Counters of the ingestion paths, exposed at GET /api/ingest/stats. */
export interface IngestStats {
  received: number;
  stored: number;
  malformed: number;
  failed: number;
  alertsRaised: number;
}

/** Stores a reading and the alerts it raises: the one path for both MQTT and HTTP ingestion. */
export class Ingestor {
  readonly stats: IngestStats = { received: 0, stored: 0, malformed: 0, failed: 0, alertsRaised: 0 };
  private readonly repository: Repository;
  private readonly log: Logger;

  constructor(repository: Repository, log: Logger) {
    this.repository = repository;
    this.log = log;
  }

  malformed(source: string, reason: string, detail: Record<string, unknown> = {}): void {
    this.stats.received += 1;
    this.stats.malformed += 1;
    this.log.warn({ source, reason, ...detail, malformedTotal: this.stats.malformed }, "malformed telemetry");
  }

  async ingest(record: TelemetryRecord, source: string): Promise<{ alerts: number }> {
    this.stats.received += 1;
    const alerts = evaluateAlerts(record);
    try {
      await this.repository.storeReading(record, alerts);
    } catch (error) {
      this.stats.failed += 1;
      throw error;
    }
    this.stats.stored += 1;
    this.stats.alertsRaised += alerts.length;
    if (alerts.length > 0) {
      this.log.info(
        {
          source,
          equipmentId: record.equipmentId,
          alerts: alerts.map((alert) => `${alert.rule}:${alert.severity}`),
        },
        "alerts raised",
      );
    }
    return { alerts: alerts.length };
  }
}
