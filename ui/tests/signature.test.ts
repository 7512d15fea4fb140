import { describe, expect, it } from 'vitest';
import {
  addPoint,
  emptyDrawing,
  isEmpty,
  normalise,
  parseStrokes,
  redrawTransform,
  serialiseStrokes,
  toCanvas,
  type SignatureDrawing,
} from '../src/lib/signature';

describe('normalise', () => {
  it('maps pad pixels to 0..1', () => {
    expect(normalise(450, 75, 900, 300)).toEqual([0.5, 0.25]);
    expect(normalise(0, 300, 900, 300)).toEqual([0, 1]);
  });
  it('clamps points dragged outside the pad', () => {
    expect(normalise(-20, 400, 900, 300)).toEqual([0, 1]);
  });
  it('keeps four decimals', () => {
    expect(normalise(1, 1, 3, 3)).toEqual([0.3333, 0.3333]);
  });
  it('survives a zero-size pad', () => {
    expect(normalise(10, 10, 0, 0)).toEqual([0, 0]);
  });
});

describe('redraw after rotation or resize', () => {
  it('fills the pad when the aspect is unchanged', () => {
    expect(redrawTransform(3, 900, 300)).toEqual({ scaleX: 900, scaleY: 300, offsetX: 0, offsetY: 0 });
    expect(toCanvas([0.5, 0.5], redrawTransform(3, 1200, 400))).toEqual([600, 200]);
  });
  it('letterboxes a wider pad without stretching the signature', () => {
    const tr = redrawTransform(3, 1000, 200);
    expect(tr).toEqual({ scaleX: 600, scaleY: 200, offsetX: 200, offsetY: 0 });
    expect(toCanvas([0, 0], tr)).toEqual([200, 0]);
    expect(toCanvas([1, 1], tr)).toEqual([800, 200]);
  });
  it('letterboxes a taller pad', () => {
    const tr = redrawTransform(3, 600, 600);
    expect(tr).toEqual({ scaleX: 600, scaleY: 200, offsetX: 0, offsetY: 200 });
  });
  it('a point drawn, normalised and redrawn at another size keeps its relative place', () => {
    const p = normalise(300, 150, 900, 300);
    const [x, y] = toCanvas(p, redrawTransform(3, 600, 200));
    expect(x).toBeCloseTo(200, 1); // 1/3 stored as 0.3333
    expect(y).toBe(100);
  });
});

describe('strokes', () => {
  it('skips repeated points', () => {
    const s = addPoint(addPoint([[0.1, 0.1]], [0.1, 0.1]), [0.2, 0.2]);
    expect(s).toEqual([
      [0.1, 0.1],
      [0.2, 0.2],
    ]);
  });
  it('serialise then parse gives the same drawing', () => {
    const d: SignatureDrawing = {
      version: 1,
      aspect: 3,
      strokes: [
        [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
        [[0.5, 0.5]],
      ],
    };
    expect(parseStrokes(serialiseStrokes(d))).toEqual(d);
    expect(isEmpty(d)).toBe(false);
  });
  it('serialises with integers only, as drafts and records require (no floats)', () => {
    const d: SignatureDrawing = { version: 1, aspect: 3, strokes: [[normalise(1, 1, 3, 3), normalise(450, 75, 900, 300)]] };
    const json = serialiseStrokes(d);
    const numbers: number[] = [];
    JSON.parse(json, (_k, v) => {
      if (typeof v === 'number') numbers.push(v);
      return v;
    });
    expect(numbers.length).toBeGreaterThan(4);
    expect(numbers.every(Number.isInteger)).toBe(true);
    expect(json).toBe('{"version":2,"aspect_milli":3000,"strokes":[[[3333,3333],[5000,2500]]]}');
    expect(isEmpty(emptyDrawing(3))).toBe(true);
  });
  it('refuses malformed drafts instead of drawing garbage', () => {
    expect(parseStrokes(null)).toBeNull();
    expect(parseStrokes('')).toBeNull();
    expect(parseStrokes('not json')).toBeNull();
    expect(parseStrokes('{"version":3,"aspect_milli":3000,"strokes":[]}')).toBeNull();
    expect(parseStrokes('{"version":2,"aspect_milli":3000,"strokes":[[[1000]]]}')).toBeNull();
    expect(parseStrokes('{"version":2,"aspect_milli":3000,"strokes":[[["a","b"]]]}')).toBeNull();
    expect(parseStrokes('{"version":2,"aspect_milli":3000,"strokes":[[[0.5,0.5]]]}')).toBeNull();
    expect(parseStrokes('{"version":2,"aspect_milli":0,"strokes":[]}')).toBeNull();
  });
  it('clamps stored points into 0..1', () => {
    expect(parseStrokes('{"version":2,"aspect_milli":3000,"strokes":[[[15000,-10]]]}')?.strokes).toEqual([[[1, 0]]]);
  });
});
