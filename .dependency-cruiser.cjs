/**
 * The layer walls of src/, checked by `npm run check:walls` (and so by `npm test`).
 * Lower layers never import higher ones: a blueprint is data; scaling is pure decisions; storage and
 * process helpers know nothing of what runs on them; the targets (kube, provisioning, sim, local)
 * interpret blueprints and never reach up into the runtime or the CLI.
 * test/walls/walls.test.ts proves that every rule here reports a breach.
 */

/** Folders under src/, as a path pattern. */
const under = (...dirs) => `^src/(${dirs.join("|")})/`;

/** Node modules that do I/O: a pure layer must not reach them. */
const IO_MODULES = "^(node:)?(fs|fs/promises|child_process|net|http|https|dgram)$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "storage-is-a-leaf",
      comment: "src/storage serves queues and tables by name; what uses them (runtime, provisioning, blueprints, apps, CLI, targets) is above it",
      severity: "error",
      from: { path: under("storage") },
      to: { path: under("local", "provisioning", "blueprints", "apps", "cli", "kube", "sim") },
    },
    {
      name: "process-is-a-leaf",
      comment: "src/process (Azurite, child processes) starts programs; it knows no runtime, blueprint, app or command",
      severity: "error",
      from: { path: under("process") },
      to: { path: under("local", "provisioning", "blueprints", "apps", "cli") },
    },
    {
      name: "apps-run-anywhere",
      comment: "the app programs run in the local runtime and in a cluster alike, so they import no target and no CLI",
      severity: "error",
      from: { path: under("apps") },
      to: { path: under("local", "cli", "sim", "kube") },
    },
    {
      name: "apps-reach-no-provisioning",
      comment: "the apps authenticate as on AKS (DefaultAzureCredential); the local target enforces roles at its services, so no provisioning code runs in an app",
      severity: "error",
      from: { path: under("apps") },
      to: { path: under("provisioning", "identity") },
    },
    {
      name: "scaling-is-pure",
      comment: "src/scaling holds the decisions both the runtime and the simulator run; it imports no target, runtime, store or process",
      severity: "error",
      from: { path: under("scaling") },
      to: { path: under("local", "sim", "provisioning", "kube", "cli", "apps", "storage", "process") },
    },
    {
      name: "scaling-does-no-io",
      comment: "src/scaling is called on simulated time too: no files, processes or sockets",
      severity: "error",
      from: { path: under("scaling") },
      to: { dependencyTypes: ["core"], path: IO_MODULES },
    },
    {
      name: "blueprints-are-data",
      comment: "a blueprint imports only other blueprint modules, src/errors.ts, the version constant and pure text helpers: no packages, no node modules, no targets",
      severity: "error",
      from: { path: under("blueprints") },
      to: { pathNot: "^src/(blueprints/|errors\\.ts$|version\\.ts$|util/text\\.ts$)" },
    },
    {
      name: "targets-stay-below-the-runtime",
      comment: "kube, provisioning, sim, the AKS upgrade and the identity services interpret blueprints or serve the runtime; the local runtime and the CLI are above them",
      severity: "error",
      from: { path: under("kube", "provisioning", "sim", "upgrade", "identity") },
      to: { path: under("local", "cli") },
    },
    {
      name: "runtime-stays-below-the-cli",
      comment: "the CLI drives the local runtime, never the other way round",
      severity: "error",
      from: { path: under("local") },
      to: { path: under("cli") },
    },
    {
      name: "runtime-is-handed-its-dashboard",
      comment: "the dashboard sits above the runtime it shows: the CLI starts it and hands `up` a way to (DashboardServing); the runtime never imports it",
      severity: "error",
      from: { path: under("local") },
      to: { path: under("dashboard") },
    },
    {
      name: "dashboard-reads-the-runtime-over-http",
      comment: "the dashboard is a client of the control API: it may share the runtime's types, never its code (the CLI starts it beside `up`, not the reverse)",
      severity: "error",
      from: { path: under("dashboard") },
      to: { path: under("local", "cli", "sim", "provisioning", "kube", "storage", "process", "apps"), dependencyTypesNot: ["type-only"] },
    },
    {
      name: "dashboard-client-runs-in-the-browser",
      comment: "src/dashboard/client is served to the browser: it may import types only, and code only from its own folder (served beside it, or inlined into the report)",
      severity: "error",
      from: { path: "^src/dashboard/client/" },
      to: { dependencyTypesNot: ["type-only"], pathNot: "^src/dashboard/client/[^/]+\\.ts$" },
    },
    {
      name: "no-circular",
      comment: "a cycle makes two modules one layer; split what both need into a lower module",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports are edges too: a type from a higher layer couples the layers all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

