//! Finding and reading the CJK font the copy is set in.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::raw::{FileRef, FontRef, TableProvider};
use skrifa::string::StringId;
use skrifa::{GlyphId, MetadataProvider};

use crate::CopyError;

/// The environment variable naming a font file to use instead of the well-known paths.
pub const FONT_ENV: &str = "HEARTH_CJK_FONT";

/// Where a Simplified-Chinese font is usually found, in the order tried:
/// Debian/Ubuntu (`fonts-noto-cjk`), Arch, Fedora, then Android's system fonts
/// (Noto CJK on current releases, Droid Sans Fallback on old ones and on some
/// Chinese vendors' builds), then WenQuanYi as a last resort on Linux.
pub const WELL_KNOWN_FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/system/fonts/NotoSansCJK-Regular.ttc",
    "/system/fonts/NotoSansSC-Regular.otf",
    "/system/fonts/NotoSansHans-Regular.otf",
    "/system/fonts/DroidSansFallbackFull.ttf",
    "/system/fonts/DroidSansFallback.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
];

/// Characters a usable face must have: the titles, verdicts and marks the copy always prints.
const PROBE: &str = "入户维修服务确认单测温记录达标用户签字第页共一式两份℃★☆0123456789ABCDEFabcdef：（）";

/// A CJK font face, read once and reused for every copy (cheap to clone).
///
/// Holds the whole font file in memory (about 20 MB for Noto Sans CJK);
/// only the glyphs a copy uses are embedded in its PDF.
#[derive(Clone)]
pub struct CjkFont {
    data: Arc<Vec<u8>>,
    index: u32,
    name: String,
    source: String,
    pdf_font: krilla::text::Font,
}

impl fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CjkFont")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("source", &self.source)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl CjkFont {
    /// Finds a font: `override_path` if given, else the file named by
    /// `HEARTH_CJK_FONT` if set, else the first usable one of
    /// [`WELL_KNOWN_FONT_PATHS`]. An explicit path (argument or variable) is
    /// used alone: when it is missing or unusable that is the error, so a
    /// misconfiguration is not hidden by a fallback.
    ///
    /// In a collection (`.ttc`) the Simplified Chinese face is picked by name.
    pub fn find(override_path: Option<&Path>) -> Result<Self, CopyError> {
        let env = std::env::var_os(FONT_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let explicit = override_path.map(Path::to_path_buf).or(env);
        if let Some(path) = explicit {
            if !path.is_file() {
                return Err(CopyError::FontMissing { tried: vec![(path, "no such file".to_owned())] });
            }
            return Self::load(&path);
        }
        let mut tried = Vec::new();
        for p in WELL_KNOWN_FONT_PATHS {
            let path = Path::new(p);
            if !path.is_file() {
                tried.push((path.to_path_buf(), "no such file".to_owned()));
                continue;
            }
            match Self::load(path) {
                Ok(font) => return Ok(font),
                Err(e) => tried.push((path.to_path_buf(), e.to_string())),
            }
        }
        Err(CopyError::FontMissing { tried })
    }

    /// Reads a font file (`.ttc`, `.otf` or `.ttf`) and picks its Simplified Chinese face.
    pub fn load(path: &Path) -> Result<Self, CopyError> {
        let source = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| CopyError::FontUnusable { source_name: source.clone(), reason: e.to_string() })?;
        let index = pick_face(&bytes)
            .map_err(|reason| CopyError::FontUnusable { source_name: source.clone(), reason })?;
        Self::build(bytes, index, source)
    }

    /// Uses font bytes already in memory; `index` is the face in a collection (0 for a single font).
    pub fn from_bytes(bytes: Vec<u8>, index: u32) -> Result<Self, CopyError> {
        Self::build(bytes, index, "bytes".to_owned())
    }

    fn build(bytes: Vec<u8>, index: u32, source: String) -> Result<Self, CopyError> {
        let unusable = |reason: String| CopyError::FontUnusable { source_name: source.clone(), reason };
        let (name, missing) = {
            let face = face_at(&bytes, index).map_err(unusable)?;
            let charmap = face.charmap();
            let missing: String = PROBE.chars().filter(|c| charmap.map(*c).is_none()).collect();
            (face_name(&face), missing)
        };
        if !missing.is_empty() {
            return Err(unusable(format!("face {index} ({name}) lacks Chinese characters: {missing}")));
        }
        let data = Arc::new(bytes);
        let pdf_font = krilla::text::Font::new(krilla::Data::from(data.clone()), index)
            .ok_or_else(|| unusable(format!("face {index} cannot be embedded in a PDF")))?;
        Ok(CjkFont { data, index, name, source, pdf_font })
    }

    /// The face's name, e.g. "Noto Sans CJK SC".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The face index inside the file.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Where the font came from: its path, or "bytes".
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn pdf_font(&self) -> krilla::text::Font {
        self.pdf_font.clone()
    }

    /// A reader for glyph ids and advances, borrowing the font bytes.
    pub(crate) fn metrics(&self) -> Result<FaceMetrics<'_>, CopyError> {
        let face = face_at(&self.data, self.index)
            .map_err(|reason| CopyError::FontUnusable { source_name: self.source.clone(), reason })?;
        let units_per_em = face.head().map(|h| h.units_per_em()).unwrap_or(1000).max(1) as f32;
        let glyphs = face.glyph_metrics(Size::unscaled(), LocationRef::default());
        let charmap = face.charmap();
        Ok(FaceMetrics { charmap, glyphs, units_per_em })
    }
}

/// Glyph lookup and advances for one face, in em units (multiply by the font size).
pub(crate) struct FaceMetrics<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    glyphs: GlyphMetrics<'a>,
    units_per_em: f32,
}

impl FaceMetrics<'_> {
    /// The glyph for `c` (`.notdef`, id 0, when the face lacks it) and its advance in em.
    pub(crate) fn glyph(&self, c: char) -> (u32, f32) {
        let gid = self.charmap.map(c).unwrap_or(GlyphId::NOTDEF);
        let adv = self.glyphs.advance_width(gid).unwrap_or(self.units_per_em) / self.units_per_em;
        (gid.to_u32(), adv)
    }

    /// Whether the face has a glyph for `c`.
    pub(crate) fn has(&self, c: char) -> bool {
        self.charmap.map(c).is_some()
    }

    /// The advance of `c` in em.
    pub(crate) fn advance(&self, c: char) -> f32 {
        self.glyph(c).1
    }

    /// The width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }
}

fn face_at(bytes: &[u8], index: u32) -> Result<FontRef<'_>, String> {
    match FileRef::new(bytes).map_err(|e| format!("not a font file: {e}"))? {
        FileRef::Font(f) if index == 0 => Ok(f),
        FileRef::Font(_) => Err(format!("face index {index} given for a single font")),
        FileRef::Collection(c) => {
            c.get(index).map_err(|e| format!("no face {index} in a collection of {}: {e}", c.len()))
        }
    }
}

fn face_name(face: &FontRef<'_>) -> String {
    for id in [StringId::TYPOGRAPHIC_FAMILY_NAME, StringId::FAMILY_NAME, StringId::POSTSCRIPT_NAME] {
        if let Some(s) = face.localized_strings(id).english_or_first() {
            let s: String = s.chars().collect();
            if !s.is_empty() {
                return s;
            }
        }
    }
    "unnamed".to_owned()
}

/// In a collection, the Simplified Chinese face ("… SC", "…sc-…", "Hans"); else the
/// first face with every probe character; for a single font, face 0.
fn pick_face(bytes: &[u8]) -> Result<u32, String> {
    let collection = match FileRef::new(bytes).map_err(|e| format!("not a font file: {e}"))? {
        FileRef::Font(_) => return Ok(0),
        FileRef::Collection(c) => c,
    };
    let mut covering = None;
    for i in 0..collection.len() {
        let Ok(face) = collection.get(i) else { continue };
        let names: Vec<String> = [StringId::FAMILY_NAME, StringId::POSTSCRIPT_NAME]
            .into_iter()
            .filter_map(|id| face.localized_strings(id).english_or_first())
            .map(|s| s.chars().collect())
            .collect();
        let simplified = names.iter().any(|n| {
            n.ends_with(" SC")
                || n.contains(" SC ")
                || n.contains("CJKsc")
                || n.contains("SC-")
                || n.contains("Hans")
        });
        let charmap = face.charmap();
        let covers = PROBE.chars().all(|c| charmap.map(c).is_some());
        if covers && simplified {
            return Ok(i);
        }
        if covers && covering.is_none() {
            covering = Some(i);
        }
    }
    covering
        .ok_or_else(|| format!("none of the {} faces has the Chinese characters needed", collection.len()))
}
