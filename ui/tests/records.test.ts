import { describe, expect, it } from 'vitest';
import { nextLink } from '../src/office/api';

describe('record search pages', () => {
  it('follows the rel="next" link of the Link header', () => {
    expect(nextLink('</v1/office/records?limit=2&cursor=7>; rel="next"')).toBe('/v1/office/records?limit=2&cursor=7');
    expect(nextLink('</a>; rel="prev", </b?cursor=3>; rel="next"')).toBe('/b?cursor=3');
  });

  it('has no next page without the header, and never leaves the origin', () => {
    expect(nextLink(null)).toBeNull();
    expect(nextLink('</a>; rel="prev"')).toBeNull();
    expect(nextLink('<https://evil.example/x>; rel="next"')).toBeNull();
  });
});
