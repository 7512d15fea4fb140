/**
 * The console's one way through a list the server pages by cursor (the
 * board, records, complaints, follow-ups, reviews, households): the first
 * page, then `more` from the `Link: <…>; rel="next"` header. A reload (a
 * filter changed, a live event) starts from the first page again and
 * fetches as many pages as were shown, so the operator keeps their place.
 */
import { apiPage, type Page } from './api';

export type PageSource<T> = (path: string) => Promise<Page<T>>;

/** `items` with those of `more` it does not hold yet (by `key`): a list that moved between pages never shows one twice. */
export function appendPage<T>(items: T[], more: T[], key: (item: T) => string): T[] {
  const have = new Set(items.map(key));
  return items.concat(more.filter((item) => !have.has(key(item))));
}

export class Pager<T> {
  #generation = 0;
  readonly #key: (item: T) => string;
  readonly #get: PageSource<T>;

  constructor(key: (item: T) => string, get: PageSource<T> = apiPage<T>) {
    this.#key = key;
    this.#get = get;
  }

  /**
   * The first page at `first`, then the pages after it until `shown` items
   * are covered. Null when another reload started meanwhile: the later one's
   * answer (or error) is the one to show.
   */
  async reload(first: string, shown = 0): Promise<Page<T> | null> {
    const mine = ++this.#generation;
    try {
      let page = await this.#get(first);
      let items = page.items;
      while (items.length < shown && page.next) {
        page = await this.#get(page.next);
        items = appendPage(items, page.items, this.#key);
      }
      if (mine !== this.#generation) return null;
      return page.rebuilding ? { items, next: page.next, rebuilding: page.rebuilding } : { items, next: page.next };
    } catch (e) {
      if (mine !== this.#generation) return null;
      throw e;
    }
  }

  /** `items` with the page at `next` appended, and the link after it. */
  async more(items: T[], next: string): Promise<Page<T>> {
    const page = await this.#get(next);
    return { items: appendPage(items, page.items, this.#key), next: page.next };
  }
}
