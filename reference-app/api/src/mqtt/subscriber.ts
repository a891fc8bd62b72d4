import mqtt, { type MqttClient } from "mqtt";
import type { Config } from "../config.ts";
import type { Ingestor } from "../ingest.ts";
import type { Logger } from "../log.ts";
import { mapMqttMessage } from "../telemetry.ts";

/**
 * The local stand-in for the AWS IoT rule `SELECT *, topic(3) AS equipmentId, timestamp() AS receivedAt FROM
 * 'valmetal/equipment/+/telemetry'`: subscribes to the telemetry topic and stores each message, the equipment id
 * taken from the topic's third level. A malformed message is counted and logged; nothing in a message can make
 * the handler throw.
 */
export class TelemetrySubscriber {
  client: MqttClient | undefined;
  private readonly config: Config["mqtt"];
  private readonly ingestor: Ingestor;
  private readonly log: Logger;
  private readonly clientId: string;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(config: Config["mqtt"], ingestor: Ingestor, log: Logger, clientId: string) {
    this.config = config;
    this.ingestor = ingestor;
    this.log = log;
    this.clientId = clientId;
  }

  /** Connects and subscribes; reconnects (and resubscribes) by itself whenever the broker comes back. */
  start(): void {
    if (this.client) return;
    const { url, username, password, topic } = this.config;
    const log = this.log;
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: this.clientId,
      username,
      password,
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      keepalive: 30,
    });
    this.client = client;
    client.on("connect", () => {
      log.info({ url, topic }, "mqtt connected");
      client.subscribe(topic, { qos: 1 }, (error) => {
        if (error) log.error({ err: error.message }, "mqtt subscribe failed");
        else log.info({ topic }, "mqtt subscribed");
      });
    });
    client.on("reconnect", () => log.debug("mqtt reconnecting"));
    client.on("offline", () => log.warn("mqtt offline"));
    client.on("error", (error) => log.warn({ err: error.message }, "mqtt error"));
    client.on("message", (messageTopic, message) => this.onMessage(messageTopic, message));
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private onMessage(topic: string, message: Buffer): void {
    const mapped = mapMqttMessage(topic, message, new Date());
    if (!mapped.ok) {
      this.ingestor.malformed("mqtt", mapped.error, { topic, bytes: message.length });
      return;
    }
    const work = this.ingestor
      .ingest(mapped.value, "mqtt")
      .catch((error: Error) =>
        this.log.error({ err: error.message, equipmentId: mapped.value.equipmentId }, "telemetry not stored"),
      )
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
  }

  /** Stops receiving, lets messages being stored finish, then disconnects. */
  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await within(
        2_000,
        new Promise<void>((resolve) => client.unsubscribe(this.config.topic, () => resolve())),
      );
    }
    await Promise.allSettled([...this.pending]);
    await within(2_000, client.endAsync(!client.connected));
  }
}

function within(ms: number, work: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
