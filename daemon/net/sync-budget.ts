/**
 * What one sync peer may make us spend (DESIGN section 6), and the error that cuts it off.
 * Every frame read is charged to its round; a reply is also held to what was asked (ids,
 * envelopes). A peer past any bound is misbehaving: its stream is aborted, it is disconnected
 * and banned, never retried soon.
 */

/** The bound a misbehaving peer broke, for the log and the counters. */
export type SyncBound = 'frame' | 'framesPerRound' | 'bytesPerRound' | 'idsPerReply' | 'reply' | 'inactivity' | 'envelope' | 'streams';

/** Thrown when a peer breaks the protocol or a bound; the peer is then dropped and banned. */
export class Misbehaviour extends Error {
  readonly bound: SyncBound;
  constructor(bound: SyncBound, message: string) {
    super(message);
    this.name = 'Misbehaviour';
    this.bound = bound;
  }
}

export interface RoundLimits {
  maxBytesPerRound: number;
  maxFramesPerRound: number;
}

/** Bytes and frames read in one round with one peer. */
export class RoundBudget {
  bytes = 0;
  frames = 0;
  readonly #limits: RoundLimits;

  constructor(limits: RoundLimits) {
    this.#limits = limits;
  }

  /** Charges one frame read; past a bound, the peer is misbehaving. */
  charge(bytes: number): void {
    this.bytes += bytes;
    this.frames += 1;
    if (this.bytes > this.#limits.maxBytesPerRound) throw new Misbehaviour('bytesPerRound', `sync round: expected at most ${this.#limits.maxBytesPerRound} bytes, got ${this.bytes}`);
    if (this.frames > this.#limits.maxFramesPerRound) throw new Misbehaviour('framesPerRound', `sync round: expected at most ${this.#limits.maxFramesPerRound} frames, got ${this.frames}`);
  }

  /** Whether an honest reply of this many bytes and frames still fits: if not, we stop asking. */
  affords(bytes: number, frames: number): boolean {
    return this.bytes + bytes <= this.#limits.maxBytesPerRound && this.frames + frames <= this.#limits.maxFramesPerRound;
  }
}
