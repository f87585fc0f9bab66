export { simulate, SIM_DEFAULTS, SEED_POD_REQUESTS, type SimOptions, type SimResult, type SimSummary, type TimelineEntry } from "./engine.js";
export { parseTraceCsv, traceValueAt, type Trace } from "./trace.js";
export { FluidQueue } from "./fluid-queue.js";
export { SimCluster, type SimNode } from "./cluster.js";
export type { ClusterEvent } from "../scaling/events.js";
export { loadSimInputs, type SimInputFiles, type SimInputs } from "./inputs.js";
export { formatSimResult } from "./report.js";
