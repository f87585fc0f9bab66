// `node dist/src/local/bluegreen/watch-main.js <gateway url> [rate]`: an independent client process that
// records who answered every request (tests and bench/bluegreen.ts run it beside `up bluegreen`).
import { watchMain } from "./watch.js";

void watchMain(process.argv.slice(2));
