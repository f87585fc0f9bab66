/**
 * akspilot's version: what `--version` prints and the tag of the images it builds (`akspilot images`), so
 * manifests name an image that does not move. A test keeps it equal to package.json's.
 */
export const AKSPILOT_VERSION = "0.1.0";
