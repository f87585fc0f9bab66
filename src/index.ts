// Public surface of the akspilot library.
export { UserError } from "./errors.js";
export type * from "./blueprints/types.js";
export { getBlueprint, blueprintNames } from "./blueprints/index.js";
export { edwBlueprint, seedScaledObject, seedNodePool, EDW_DEFAULTS } from "./blueprints/edw.js";
