/**
 * Per-host outlier-detection bookkeeping (Envoy's DetectorHostMonitor). Lives on
 * the Host so it survives endpoint updates that keep the host's address:port.
 */
export class HostOutlierState {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  /** True from ejection until the interval sweep that returns the host. */
  ejected = false;
  /** Clock time of the current (or last) ejection. */
  lastEjectionTime = 0;
  /** Clock time of the last return to service, if any. */
  lastUnejectionTime: number | undefined;
  /** Multiplier for base_ejection_time; +1 per ejection, -1 per sweep spent healthy. */
  ejectionBackoff = 0;
  /** Lifetime ejection count, for debugging / config dump. */
  totalEjections = 0;
  /** Jitter (ms) drawn at ejection time from max_ejection_time_jitter. */
  ejectionJitter = 0;

  // Success-rate buckets: the writer bucket fills during an interval, then becomes the reader.
  externalSuccess = 0;
  externalTotal = 0;
  localSuccess = 0;
  localTotal = 0;
  lastExternalSuccess = 0;
  lastExternalTotal = 0;
  lastLocalSuccess = 0;
  lastLocalTotal = 0;

  resetConsecutive(): void {
    this.consecutive5xx = 0;
    this.consecutiveGatewayFailure = 0;
    this.consecutiveLocalOriginFailure = 0;
  }

  /** Interval boundary: the bucket filled during the last interval becomes the one evaluated. */
  swapBuckets(): void {
    this.lastExternalSuccess = this.externalSuccess;
    this.lastExternalTotal = this.externalTotal;
    this.lastLocalSuccess = this.localSuccess;
    this.lastLocalTotal = this.localTotal;
    this.externalSuccess = this.externalTotal = this.localSuccess = this.localTotal = 0;
  }
}
