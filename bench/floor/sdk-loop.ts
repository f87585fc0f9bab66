// The memory floor of a consumer on the Azure SDK: receive(32) + delete until the queue is empty, with
// @azure/storage-queue and nothing else (no table write, no stats, no health server). Run as its own process
// with the pods' V8 flags by bench/floor/measure.ts; prints its peak memory as one JSON line.
// Environment: AZURE_STORAGE_CONNECTION_STRING, AZURE_QUEUE_NAME.
import { QueueClient } from "@azure/storage-queue";
import { bareLoop } from "./bare-loop.js";
import { peakSampler } from "./peak.js";

const q = new QueueClient(process.env.AZURE_STORAGE_CONNECTION_STRING!, process.env.AZURE_QUEUE_NAME!);
const peak = peakSampler();
const { handled } = await bareLoop(q, () => peak.sample());
process.stdout.write(`${JSON.stringify({ handled, ...peak.done() })}\n`);
