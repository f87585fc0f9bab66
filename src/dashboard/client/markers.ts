// Event markers, shared by the live dashboard (app.ts) and the simulator's report (report.ts): which event
// reasons are drawn as a vertical line on every chart, in which colour, and the uPlot plugin that draws them.
// Runs in the browser; uPlot is a global there, so only its types are imported.
import type UPlot from "uplot";

export interface MarkerKind {
  kind: string;
  color: string;
}

/** Event reasons drawn as markers, by the reason the runtime and the simulator both record. */
export const MARKERS: Record<string, MarkerKind> = {
  ScalingReplicaSet: { kind: "scale", color: "#6f42c1" },
  Launched: { kind: "node launch", color: "#0969da" },
  VMStopped: { kind: "node stop", color: "#cf222e" },
};

/** A traffic switch between clusters (blue-green): switch, canary weights, rollback. */
const SWITCH: MarkerKind = { kind: "switch", color: "#bf8700" };
const SWITCH_REASON = /^(Traffic|Switch|Switched|Weights|Canary|Rollback|RolledBack|OwnerChanged|GatewayOwner)/;

/** The marker of an event reason, or undefined for one not marked. */
export function markerOf(reason: string): MarkerKind | undefined {
  return MARKERS[reason] ?? (SWITCH_REASON.test(reason) ? SWITCH : undefined);
}

/** The legend's entries, in the order they are listed. */
export const MARKER_LEGEND: MarkerKind[] = [...Object.values(MARKERS), SWITCH];

export interface Mark {
  /** On the chart's x scale (seconds). */
  t: number;
  color: string;
}

/** Draws a dashed vertical line at each mark inside the visible x range; `marks` is read at every draw. */
export function markerPlugin(marks: () => Iterable<Mark>): UPlot.Plugin {
  return {
    hooks: {
      draw: (u: UPlot) => {
        const { ctx } = u;
        const [min, max] = [u.scales.x!.min ?? -Infinity, u.scales.x!.max ?? Infinity];
        ctx.save();
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([3 * devicePixelRatio, 3 * devicePixelRatio]);
        for (const m of marks()) {
          if (m.t < min || m.t > max) continue;
          const x = Math.round(u.valToPos(m.t, "x", true));
          ctx.strokeStyle = m.color;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}
