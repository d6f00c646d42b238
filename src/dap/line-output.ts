/**
 * Console text as it arrives (QEMU's serial port gives it in fragments of a few bytes) regrouped
 * into whole lines: one DAP output event per line or per batch of lines instead of hundreds of
 * fragments. A partial line (a shell prompt) goes out once nothing more came for `idleMs`, or at flush().
 */
export class LineOutput {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (text: string) => void,
    private readonly idleMs = 200,
  ) {}

  write(text: string): void {
    this.pending += text;
    const end = this.pending.lastIndexOf('\n');
    if (end >= 0) {
      const lines = this.pending.slice(0, end + 1);
      this.pending = this.pending.slice(end + 1);
      this.emit(lines);
    }
    clearTimeout(this.timer);
    this.timer = this.pending ? setTimeout(() => this.flush(), this.idleMs).unref() : undefined;
  }

  /** Sends the partial line held back, if any. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.emit(text);
  }
}
