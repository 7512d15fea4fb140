//! Writing the laid-out pages as PDF with krilla, which subsets the font
//! (only the glyphs drawn are embedded) and writes the ToUnicode map that
//! makes the text extractable.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};

use crate::font::FaceMetrics;
use crate::layout::{Op, PAGE_H, PAGE_W, Page, Rgb, Style};
use crate::qr::Matrix;
use crate::signature::Signature;
use crate::{CjkFont, CopyError, CustomerCopy};

fn failed(what: &str) -> CopyError {
    CopyError::CopyFailed(what.to_owned())
}

pub(crate) fn write(
    copy: &CustomerCopy,
    font: &CjkFont,
    metrics: &FaceMetrics<'_>,
    pages: &[Page],
    signature: Option<Signature>,
    qr: &Matrix,
) -> Result<Vec<u8>, CopyError> {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("{} {}", copy.title, copy.work_order_id))
            .language("zh-CN".to_owned())
            .creator("Hearth (hearth-copy)".to_owned()),
    );
    let image = match signature {
        Some(sig) => {
            Some(Image::from_custom(sig, true).map_err(|e| failed(&format!("signature image: {e}")))?)
        }
        None => None,
    };
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| failed("page size"))?;
    for page in pages {
        let mut p = doc.start_page_with(settings.clone());
        let mut s = p.surface();
        for op in &page.ops {
            draw(&mut s, op, font, metrics, image.as_ref(), qr);
        }
        s.finish();
        p.finish();
    }
    doc.finish().map_err(|e| CopyError::CopyFailed(e.to_string()))
}

fn paint(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn fill(c: Rgb) -> Fill {
    Fill { paint: paint(c), ..Fill::default() }
}

fn stroke(width: f32, c: Rgb) -> Stroke {
    Stroke {
        paint: paint(c),
        width,
        line_cap: LineCap::Butt,
        line_join: LineJoin::Miter,
        ..Stroke::default()
    }
}

fn draw(
    s: &mut Surface<'_>,
    op: &Op,
    font: &CjkFont,
    m: &FaceMetrics<'_>,
    image: Option<&Image>,
    qr: &Matrix,
) {
    match op {
        Op::Text { x, baseline, style, text, .. } => draw_text(s, *x, *baseline, *style, text, font, m),
        Op::Rect { x, y, w, h, fill: f, stroke: st } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else { return };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            let Some(path) = pb.finish() else { return };
            s.set_fill(f.map(fill));
            s.set_stroke(st.map(|(w, c)| stroke(w, c)));
            s.draw_path(&path);
        }
        Op::Line { x1, y1, x2, y2, width, color } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            let Some(path) = pb.finish() else { return };
            s.set_fill(None);
            s.set_stroke(Some(stroke(*width, *color)));
            s.draw_path(&path);
        }
        Op::Signature { x, y, w, h } => {
            let (Some(image), Some(size)) = (image, Size::from_wh(*w, *h)) else { return };
            s.push_transform(&Transform::from_translate(*x, *y));
            s.draw_image(image.clone(), size);
            s.pop();
        }
        Op::Qr { x, y, module } => {
            let mut pb = PathBuilder::new();
            for (row, col, len) in qr.runs() {
                // A hair taller than a module so rows overlap: no white seams when rasterised.
                let r = Rect::from_xywh(
                    x + col as f32 * module,
                    y + row as f32 * module,
                    len as f32 * module,
                    module * 1.02,
                );
                if let Some(r) = r {
                    pb.push_rect(r);
                }
            }
            let Some(path) = pb.finish() else { return };
            s.set_stroke(None);
            s.set_fill(Some(fill(Rgb(0, 0, 0))));
            s.draw_path(&path);
        }
    }
}

/// Real text: one glyph per character from the font's cmap (CJK needs no
/// shaping), with its byte range so krilla maps glyphs back to Unicode.
/// Bold is the regular face filled and stroked thinly, so one font serves.
fn draw_text(
    s: &mut Surface<'_>,
    x: f32,
    baseline: f32,
    style: Style,
    text: &str,
    font: &CjkFont,
    m: &FaceMetrics<'_>,
) {
    if text.is_empty() {
        return;
    }
    let glyphs: Vec<KrillaGlyph> = text
        .char_indices()
        .map(|(i, c)| {
            let (gid, adv) = m.glyph(c);
            KrillaGlyph::new(GlyphId::new(gid), adv, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None)
        })
        .collect();
    s.set_fill(Some(fill(style.color)));
    s.set_stroke(
        style.bold.then(|| Stroke { line_join: LineJoin::Round, ..stroke(style.size * 0.035, style.color) }),
    );
    s.draw_glyphs(Point::from_xy(x, baseline), &glyphs, font.pdf_font(), text, style.size, false);
    s.set_stroke(None);
}
