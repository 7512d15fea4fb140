/**
 * The signature pad's model, independent of the DOM: strokes are arrays of
 * points normalised to 0..1 of the pad, so the drawing survives rotation and
 * resizing (redrawn with `redrawTransform`) and an app restart (serialised
 * into a draft with `serialiseStrokes`).
 *
 * Serialised, coordinates are integers in ten-thousandths of the pad and the
 * aspect in thousandths: drafts (and the strokes file a sign-off attaches)
 * follow the record rules, which allow no floats — a drawing with floats
 * would never be saved, and would not survive a restart.
 */

/** A point in pad coordinates, each axis 0..1. */
export type Point = [x: number, y: number];
export type Stroke = Point[];

export interface SignatureDrawing {
  version: 1;
  /** Width / height of the pad when drawn; keeps the shape on redraw. */
  aspect: number;
  strokes: Stroke[];
}

const clamp01 = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);
/** Four decimals: ~0.1 px on a 1000 px pad, and a compact draft. */
const round4 = (v: number) => Math.round(v * 10000) / 10000;

/** A pointer position (px, relative to the pad's top-left) to 0..1 coordinates. */
export function normalise(px: number, py: number, width: number, height: number): Point {
  if (width <= 0 || height <= 0) return [0, 0];
  return [round4(clamp01(px / width)), round4(clamp01(py / height))];
}

export interface Transform {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

/**
 * How to draw a drawing made at `aspect` on a pad now `width` x `height` px:
 * the largest box of the original aspect that fits, centred, so the signature
 * is never stretched when the tablet rotates.
 */
export function redrawTransform(aspect: number, width: number, height: number): Transform {
  if (!(aspect > 0) || width <= 0 || height <= 0) {
    return { scaleX: Math.max(0, width), scaleY: Math.max(0, height), offsetX: 0, offsetY: 0 };
  }
  const current = width / height;
  if (Math.abs(current - aspect) < 1e-6) return { scaleX: width, scaleY: height, offsetX: 0, offsetY: 0 };
  if (current > aspect) {
    const w = height * aspect;
    return { scaleX: w, scaleY: height, offsetX: (width - w) / 2, offsetY: 0 };
  }
  const h = width / aspect;
  return { scaleX: width, scaleY: h, offsetX: 0, offsetY: (height - h) / 2 };
}

/** A normalised point to canvas pixels under `t`. */
export function toCanvas(p: Point, t: Transform): [number, number] {
  return [t.offsetX + p[0] * t.scaleX, t.offsetY + p[1] * t.scaleY];
}

/** Adds a point to a stroke unless it is the same as the last one. */
export function addPoint(stroke: Stroke, p: Point): Stroke {
  const last = stroke[stroke.length - 1];
  if (last && last[0] === p[0] && last[1] === p[1]) return stroke;
  stroke.push(p);
  return stroke;
}

export function isEmpty(d: SignatureDrawing): boolean {
  return d.strokes.every((s) => s.length === 0);
}

export function emptyDrawing(aspect: number): SignatureDrawing {
  return { version: 1, aspect, strokes: [] };
}

/** Serialised coordinates are in 1/SCALE of the pad (the model keeps four decimals). */
const SCALE = 10_000;

export function serialiseStrokes(d: SignatureDrawing): string {
  const strokes = d.strokes.map((s) => s.map(([x, y]) => [Math.round(x * SCALE), Math.round(y * SCALE)]));
  return JSON.stringify({ version: 2, aspect_milli: Math.round(d.aspect * 1000), strokes });
}

/** Reads a serialised drawing; anything malformed gives `null` (start blank). */
export function parseStrokes(json: string | null | undefined): SignatureDrawing | null {
  if (!json) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const obj = raw as { version?: unknown; aspect_milli?: unknown; strokes?: unknown };
  if (obj.version !== 2 || !Number.isInteger(obj.aspect_milli) || !Array.isArray(obj.strokes)) return null;
  const aspect = (obj.aspect_milli as number) / 1000;
  if (!(aspect > 0)) return null;
  const strokes: Stroke[] = [];
  for (const s of obj.strokes) {
    if (!Array.isArray(s)) return null;
    const stroke: Stroke = [];
    for (const p of s) {
      if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1])) return null;
      stroke.push([clamp01(p[0] / SCALE), clamp01(p[1] / SCALE)]);
    }
    strokes.push(stroke);
  }
  return { version: 1, aspect, strokes };
}
