/** A graceful stop for long runs: the first Ctrl-C asks the run to finish what is in flight, a second one quits as usual. */

export class GracefulInterrupt {
  private asked = false;
  private readonly onSigint = () => {
    this.asked = true;
    process.stderr.write(`\ninterrupted: finishing the ${this.inFlight} in flight (Ctrl-C again to quit now)\n`);
  };

  /** `inFlight` names the work that is let finish ("rows", "starts"). */
  constructor(private readonly inFlight: string) {
    process.once('SIGINT', this.onSigint);
  }

  /** Whether a stop was asked for. */
  get requested(): boolean {
    return this.asked;
  }

  /** Hands SIGINT back to Node's default: call when the run is over. */
  dispose(): void {
    process.off('SIGINT', this.onSigint);
  }
}
