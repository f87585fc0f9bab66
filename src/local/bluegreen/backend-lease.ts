/**
 * Ownership of the gateway's backend, as AGIC has it with `shared: false`: exactly one cluster's ingress
 * controller writes the gateway's backend at a time. A lease names the holder and a generation that grows
 * with every change of hands; a write carries the generation it was made under, so a controller that lost
 * the lease (or never had it) cannot write, and a second would-be owner is refused, never silently let in.
 */
import type { LeaseHolder } from "../../upgrade/machine.js";

export type { LeaseHolder };

export type LeaseEventFn = (type: "Normal" | "Warning", reason: string, message: string) => void;

export class LeaseRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaseRefused";
  }
}

export class BackendLease {
  private current: LeaseHolder | null;

  constructor(
    initial: LeaseHolder | null,
    private readonly emit: LeaseEventFn = () => undefined,
  ) {
    this.current = initial ? { ...initial } : null;
  }

  get owner(): LeaseHolder | null {
    return this.current ? { ...this.current } : null;
  }

  /** Takes a free lease (or confirms one's own); refused, with a Warning event, when another holds it. */
  acquire(holder: string): LeaseHolder {
    if (this.current && this.current.holder !== holder) {
      const why = `${holder} asked to own the gateway's backend, which ${this.current.holder} owns (generation ${this.current.generation}); refused: one owner at a time`;
      this.emit("Warning", "BackendOwnerRefused", why);
      throw new LeaseRefused(why);
    }
    if (!this.current) {
      this.current = { holder, generation: 1 };
      this.emit("Normal", "BackendOwnerAcquired", `${holder} owns the gateway's backend (generation 1)`);
    }
    return { ...this.current };
  }

  /** The holder hands the lease to `to`: one step, never two owners, the generation goes up. */
  transfer(from: LeaseHolder, to: string, reason: string): LeaseHolder {
    this.check(from, `hand the gateway's backend to ${to}`);
    const next = { holder: to, generation: from.generation + 1 };
    this.current = next;
    this.emit("Normal", "BackendOwnerChanged", `${from.holder} → ${to} (generation ${next.generation}): ${reason}`);
    return { ...next };
  }

  /** Throws unless `who` is the current holder at the current generation (a fenced write). */
  check(who: LeaseHolder, what: string): void {
    const c = this.current;
    if (!c || c.holder !== who.holder || c.generation !== who.generation) {
      const why = `${who.holder} (generation ${who.generation}) may not ${what}: ${c ? `${c.holder} owns the gateway's backend at generation ${c.generation}` : "nobody owns the gateway's backend"}`;
      this.emit("Warning", "BackendWriteRefused", why);
      throw new LeaseRefused(why);
    }
  }
}
