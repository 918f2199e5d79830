/** Host counts of one priority level. */
export interface PriorityCounts {
  /** Hosts eligible for load balancing at all (excluded / draining hosts not counted). */
  readonly total: number;
  /** Healthy (HEALTHY / UNKNOWN, not outlier-ejected). */
  readonly healthy: number;
  /** DEGRADED, not outlier-ejected. */
  readonly degraded: number;
}

/** Integer percentages of traffic per priority, as Envoy computes them; healthy + degraded sums to 100. */
export interface PriorityLoad {
  readonly healthy: readonly number[];
  readonly degraded: readonly number[];
  /** Per priority: balance over all its hosts, ignoring health (healthy_panic_threshold). */
  readonly panic: readonly boolean[];
}

/**
 * Envoy's priority-level load math (arch overview "Priority levels", "Panic threshold"):
 * - each level's health = min(100, overprovisioning_factor% × healthy/total) (and
 *   likewise for degraded); the sum, capped at 100, is the normalized total availability;
 * - healthy load is handed out from P0 down, each level taking its share of the
 *   normalized availability, then degraded load the same way with what is left,
 *   so a P0 at 50% health with factor 140 keeps 70% and spills 30% to P1;
 * - a level whose healthy+degraded percentage is below the panic threshold is in
 *   panic; when every level is, load is split by host count ("total panic").
 * Rounding leftovers go to the first level with availability, as in Envoy.
 */
export function computePriorityLoad(levels: readonly PriorityCounts[], overprovisioningFactor = 140, panicThreshold = 50): PriorityLoad {
  const n = levels.length;
  const healthy = new Array<number>(n).fill(0);
  const degraded = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { healthy, degraded, panic };

  const health = levels.map((l) => (l.total === 0 ? 0 : Math.min(100, Math.floor((overprovisioningFactor * l.healthy) / l.total))));
  const degradedAvailability = levels.map((l) => (l.total === 0 ? 0 : Math.min(100, Math.floor((overprovisioningFactor * l.degraded) / l.total))));
  let totalAvailability = 0;
  for (let i = 0; i < n; i++) totalAvailability += health[i]! + degradedAvailability[i]!;
  totalAvailability = Math.min(100, totalAvailability);

  if (panicThreshold > 0) {
    for (let i = 0; i < n; i++) {
      const l = levels[i]!;
      panic[i] = totalAvailability === 0 || l.total === 0 || (100 * (l.healthy + l.degraded)) / l.total < panicThreshold;
    }
  }

  if (panic.every(Boolean)) {
    // Total panic: spread by host count, since health says nothing useful any more.
    let hostCount = 0;
    for (const l of levels) hostCount += l.total;
    if (hostCount === 0) {
      healthy[0] = 100;
      return { healthy, degraded, panic };
    }
    let remaining = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (first < 0 && levels[i]!.total > 0) first = i;
      healthy[i] = Math.floor((100 * levels[i]!.total) / hostCount);
      remaining -= healthy[i]!;
    }
    healthy[first]! += remaining;
    return { healthy, degraded, panic };
  }

  if (totalAvailability === 0) {
    // Panic disabled and nothing available: P0 keeps the load and finds no host (Envoy: no healthy upstream).
    healthy[0] = 100;
    return { healthy, degraded, panic };
  }

  let healthSum = 0;
  for (const h of health) healthSum += h;
  const healthyTotal = Math.min(100, Math.floor((healthSum * 100) / totalAvailability));
  distribute(healthy, health, healthyTotal, totalAvailability);
  let used = 0;
  for (const h of healthy) used += h;
  distribute(degraded, degradedAvailability, 100 - used, totalAvailability);
  return { healthy, degraded, panic };
}

function distribute(load: number[], availability: readonly number[], total: number, normalizedTotal: number): void {
  let remaining = total;
  let first = -1;
  for (let i = 0; i < availability.length; i++) {
    if (first < 0 && availability[i]! > 0) first = i;
    load[i] = Math.min(remaining, Math.floor((availability[i]! * 100) / normalizedTotal));
    remaining -= load[i]!;
  }
  if (remaining > 0 && first >= 0) load[first]! += remaining;
}
