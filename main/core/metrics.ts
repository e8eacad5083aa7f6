/** What the HTTP server needs of the node's metrics to answer `/metrics`: the monitoring capability's `Metrics` implements it. */
export interface MetricsEndpoint {
  readonly contentType: string;
  render(): Promise<string>;
}
