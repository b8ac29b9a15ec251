/** How the hub talks MQTT: the embedded aedes broker, or a client of an external broker (Mosquitto, EMQX). */
export interface TransportUrls {
  /** Where agents connect (embedded: the real bound port; external: the broker URL). */
  mqttUrl: string;
  mqttWsUrl?: string;
  mqttTlsUrl?: string;
}

export interface MqttTransport {
  start(): Promise<TransportUrls>;
  /** Hub -> agent, QoS 1, not retained. */
  publish(topic: string, payload: string): Promise<void>;
  /** Stop accepting, close connections. */
  stop(): Promise<void>;
}
