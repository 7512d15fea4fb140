import { describe, expect, it } from 'vitest';
import type { Page } from '../src/office/api';
import { appendPage, Pager } from '../src/office/paging';

interface Row {
  id: string;
}

/** A list paged as the server pages it: sorted by id, `cursor` = the last id shown. */
function list(ids: string[]) {
  const rows = { current: [...ids].sort().map((id) => ({ id })) };
  const fetched: string[] = [];
  const get = async (path: string): Promise<Page<Row>> => {
    fetched.push(path);
    const url = new URL(path, 'http://console');
    const limit = Number(url.searchParams.get('limit') ?? '2');
    const after = url.searchParams.get('cursor');
    const rest = rows.current.filter((r) => after === null || r.id > after);
    const items = rest.slice(0, limit);
    const last = items[items.length - 1];
    const next = rest.length > limit && last ? `/list?limit=${limit}&cursor=${last.id}` : null;
    return { items, next };
  };
  return { rows, fetched, get };
}

describe('the console pages by the server cursor', () => {
  it('walks every page once with more', async () => {
    const l = list(['e', 'a', 'c', 'b', 'd']);
    const pager = new Pager<Row>((r) => r.id, l.get);
    let page = (await pager.reload('/list?limit=2'))!;
    expect(page.items.map((r) => r.id)).toEqual(['a', 'b']);
    while (page.next) page = await pager.more(page.items, page.next);
    expect(page.items.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(l.fetched).toEqual(['/list?limit=2', '/list?limit=2&cursor=b', '/list?limit=2&cursor=d']);
  });

  it('a reload keeps the place: as many pages as were shown', async () => {
    const l = list(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    const pager = new Pager<Row>((r) => r.id, l.get);
    const page = (await pager.reload('/list?limit=2', 5))!;
    expect(page.items.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(page.next).toBe('/list?limit=2&cursor=f');
    const first = (await pager.reload('/list?limit=2'))!;
    expect(first.items).toHaveLength(2);
  });

  it('never shows an item twice when the list moved between pages', () => {
    const merged = appendPage([{ id: 'a' }, { id: 'b' }], [{ id: 'b' }, { id: 'c' }], (r) => r.id);
    expect(merged.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('only the latest reload answers; an earlier one that ends later is dropped', async () => {
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    const get = async (path: string): Promise<Page<Row>> => {
      if (path === '/slow') await slow;
      return { items: [{ id: path }], next: null };
    };
    const pager = new Pager<Row>((r) => r.id, get);
    const first = pager.reload('/slow');
    const second = await pager.reload('/fast');
    release();
    expect(await first).toBeNull();
    expect(second?.items).toEqual([{ id: '/fast' }]);
  });

  it('an error of a superseded reload is not shown; the latest one throws', async () => {
    let fail: (e: unknown) => void = () => {};
    const failing = new Promise<never>((_, reject) => (fail = reject));
    const get = (path: string): Promise<Page<Row>> =>
      path === '/broken-slow' ? failing : Promise.reject({ code: 'network', message: '', status: 0 });
    const pager = new Pager<Row>((r) => r.id, get);
    const first = pager.reload('/broken-slow');
    await expect(pager.reload('/broken')).rejects.toMatchObject({ code: 'network' });
    fail({ code: 'http_500' });
    expect(await first).toBeNull();
  });
});

describe('the board says when its rebuild has a backlog', () => {
  it('reads X-Board-Rebuilding from the answer and passes it on', async () => {
    const { apiPage } = await import('../src/office/api');
    const answers = [
      new Response('[]', { status: 200, headers: { 'X-Board-Rebuilding': '41230' } }),
      new Response('[]', { status: 200 }),
      new Response('[]', { status: 200, headers: { 'X-Board-Rebuilding': 'lots' } }),
    ];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async () => answers.shift()!) as typeof fetch;
    try {
      const pager = new Pager<Row>((r) => r.id, apiPage<Row>);
      expect((await pager.reload('/v1/office/work-orders?limit=50'))?.rebuilding).toBe(41230);
      expect((await pager.reload('/v1/office/work-orders?limit=50'))?.rebuilding, 'no header, no notice').toBeUndefined();
      expect((await pager.reload('/v1/office/work-orders?limit=50'))?.rebuilding, 'garbage is ignored').toBeUndefined();
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
