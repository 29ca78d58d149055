/** A graceful stop for long runs: the first Ctrl-C asks the run to finish what is in flight, a second one quits as usual. */

export class GracefulInterrupt {
  private readonly controller = new AbortController();
  private readonly onSigint = () => {
    this.controller.abort();
    process.stderr.write(`\ninterrupted: ${this.message} (Ctrl-C again to quit now)\n`);
  };
  private readonly message: string;

  /** `inFlight` names the work that is let finish ("rows", "starts"); `message` replaces the whole notice. */
  constructor(inFlight: string, message?: string) {
    this.message = message ?? `finishing the ${inFlight} in flight`;
    process.once('SIGINT', this.onSigint);
  }

  /** Whether a stop was asked for. */
  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  /** Aborted by the first Ctrl-C: for waits that should end at once. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Hands SIGINT back to Node's default: call when the run is over. */
  dispose(): void {
    process.off('SIGINT', this.onSigint);
  }
}
