// The event type and recorder live in src/scaling/events.ts, where the simulator records the same
// events; the runtime's modules keep importing them from here.
export { EventRecorder, formatEvent, type ClusterEvent } from "../../scaling/events.js";
