import { clip } from "../../util/text.js";
import { readUserFile } from "../../util/user-file.js";
import { DEFAULT_TIMINGS, parseTimingsYaml, type TimingProfile } from "../../scaling/timings.js";

/** `--timings file.yaml` for `up` and `simulate`: the default profile, or the file's fields over it. */
export function loadTimings(file: string | undefined): TimingProfile {
  if (file === undefined) return { ...DEFAULT_TIMINGS };
  return parseTimingsYaml(readUserFile(file, "--timings"), clip(file));
}
