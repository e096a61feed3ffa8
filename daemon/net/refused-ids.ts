/**
 * Ids of envelopes that sync fetched and this node's trust policy refused, signed by no key it
 * trusts (UNKNOWN_SIGNER). Reproducers trust different keys, so an honest peer keeps offering
 * them: without this list every round fetched them again. Kept per policy (a reload starts a new
 * list, so envelopes of a newly trusted key come in), and bounded: past `limit` ids the oldest is
 * forgotten, which costs at worst one more fetch of it.
 */
export class RefusedIds {
  readonly #ids = new Set<string>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#ids.size;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    if (this.#ids.has(id)) return;
    if (this.#ids.size >= this.#limit) this.#ids.delete(this.#ids.values().next().value!);
    this.#ids.add(id);
  }
}
