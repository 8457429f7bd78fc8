// A small stand-in for the web Headers class on Node's upstream path: undici's Headers validates
// and sorts on every append and was a visible share of a proxied request's CPU. Values here come
// from node:http's parser (already valid) or from ccmux itself. Iterable as [name, value] pairs,
// so `new Headers(lite)` and `new Response(body, { headers: lite })` accept it.

/** The Headers methods ccmux uses, over a plain map; names lower-case, in insertion order. */
export class LiteHeaders {
  #map = new Map<string, string>();
  /** Kept apart, as Headers does: each set-cookie is its own value. */
  #cookies?: string[];

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === "set-cookie") {
      (this.#cookies ??= []).push(value);
      return;
    }
    const had = this.#map.get(key);
    this.#map.set(key, had === undefined ? value : `${had}, ${value}`);
  }

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    if (key === "set-cookie") this.#cookies = [value];
    else this.#map.set(key, value);
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (key === "set-cookie") return this.#cookies ? this.#cookies.join(", ") : null;
    return this.#map.get(key) ?? null;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return key === "set-cookie" ? this.#cookies !== undefined : this.#map.has(key);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    if (key === "set-cookie") this.#cookies = undefined;
    else this.#map.delete(key);
  }

  getSetCookie(): string[] {
    return this.#cookies ? [...this.#cookies] : [];
  }

  forEach(fn: (value: string, name: string, parent: LiteHeaders) => void): void {
    for (const [name, value] of this.#map) fn(value, name, this);
    if (this.#cookies) { for (const c of this.#cookies) fn(c, "set-cookie", this); }
  }

  *entries(): IterableIterator<[string, string]> {
    yield* this.#map;
    if (this.#cookies) { for (const c of this.#cookies) yield ["set-cookie", c]; }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** A LiteHeaders typed as Headers, for code written against the web class. */
export function liteHeaders(): Headers {
  return new LiteHeaders() as unknown as Headers;
}
