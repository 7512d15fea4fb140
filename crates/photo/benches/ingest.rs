//! `cargo bench -p hearth-photo --bench photo_ingest`: our `ingest` (photo + thumbnail + hashes) against
//! `vipsthumbnail` making the same 2048 px JPEG at Q82, on 12-megapixel photographs.
//!
//! Corpus: the JPEGs in `$HEARTH_PHOTO_CORPUS` if set; otherwise built once (and cached in
//! `$CARGO_TARGET_DIR/photo-corpus`, or `target/photo-corpus` in the workspace) from Debian's
//! wallpaper packages: the largest picture of each of the 24 largest wallpapers, cropped and
//! scaled to exactly 4000 × 3000 by `vips`, JPEG Q92 4:2:0 like a phone's, then tagged by
//! `exiftool` with EXIF orientations 1..8 in turn, a GPS position and a capture time.
//!
//! Per photo: the median of `HEARTH_PHOTO_BENCH_RUNS` (default 5) runs of each, interleaved so
//! both see the same machine load; peak RSS of each in a fresh process
//! (`getrusage(RUSAGE_CHILDREN)` in a small wrapper process of this binary). vipsthumbnail's
//! time is a whole process, so its start-up (a 16 × 16 image, in the same loop) is measured too,
//! and the time goal is judged against vipsthumbnail *net* of it — the stricter comparison.
//! Reports; fails only when a tool or package is missing, or when `ingest` refuses or mangles a
//! corpus photo.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const PACKAGES: &str = "mate-backgrounds ukui-wallpapers plasma-workspace-wallpapers";
const TOOLS_PACKAGES: &str = "libvips-tools libimage-exiftool-perl";
const CORPUS_SIZE: usize = 24;
const CORPUS_VERSION: &str = "hearth-photo corpus v1: 4000x3000 Q92 4:2:0, orientation 1..8, GPS";
const RSS_GOAL_MB: f64 = 200.0;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let result = match args.first().map(String::as_str) {
        Some("--child-ingest") => child_ingest(&args[1..]),
        Some("--rss-of") => rss_of(&args[1..]),
        _ => bench(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nphoto ingest bench FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// In a fresh process: one ingest, so that the parent's wrapper sees only its peak RSS.
fn child_ingest(args: &[String]) -> Result<(), String> {
    let path = args.first().ok_or("--child-ingest needs a path")?;
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let photo = hearth_photo::ingest(&bytes, &hearth_photo::PhotoLimits::default())
        .map_err(|e| format!("{path}: {} ({})", e, e.code()))?;
    // Keep the result alive until here so the peak includes it.
    std::hint::black_box(&photo);
    Ok(())
}

/// Runs the command, waits, prints the peak RSS (KiB) of that one child. A fresh wrapper per
/// measurement because RUSAGE_CHILDREN reports the maximum over all children ever waited for.
fn rss_of(args: &[String]) -> Result<(), String> {
    let (program, rest) = args.split_first().ok_or("--rss-of needs a command")?;
    let status = Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("{program}: {e}"))?;
    if !status.success() {
        return Err(format!("{program} failed: {status}"));
    }
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_err(|e| format!("getrusage: {e}"))?;
    println!("{}", usage.max_rss());
    Ok(())
}

fn peak_rss_mb(command: &[&str]) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe).arg("--rss-of").args(command).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{}: {}", command.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let kib: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| "no RSS printed")?;
    Ok(kib / 1024.0)
}

struct Row {
    name: String,
    ours_ms: f64,
    vips_ms: f64,
    startup_ms: f64,
    ours_rss: f64,
    vips_rss: f64,
}

impl Row {
    /// vipsthumbnail's time less its fixed start-up, measured in the same loop.
    fn vips_net_ms(&self) -> f64 {
        self.vips_ms - self.startup_ms
    }
}

fn bench() -> Result<(), String> {
    for (tool, package) in [("vipsthumbnail", "libvips-tools"), ("vips", "libvips-tools")] {
        if !on_path(tool) {
            return Err(format!("`{tool}` is not installed: apt-get install {package}"));
        }
    }
    let corpus = match std::env::var_os("HEARTH_PHOTO_CORPUS") {
        Some(dir) => listed_jpegs(Path::new(&dir))?,
        None => default_corpus()?,
    };
    if corpus.is_empty() {
        return Err("the corpus is empty".into());
    }
    let runs: usize =
        std::env::var("HEARTH_PHOTO_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let scratch = target_dir().join("photo-bench-out");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let vips_out = scratch.join("vips.jpg");
    let vips_arg = format!("{}[Q={},strip]", vips_out.display(), hearth_photo::JPEG_QUALITY);
    let size = hearth_photo::MAX_LONG_EDGE.to_string();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let exe = exe.to_string_lossy().into_owned();
    // vipsthumbnail's fixed cost (process start, libvips init, module loading) on a 16×16 image.
    let tiny = scratch.join("tiny.jpg").to_string_lossy().into_owned();
    run("vips", &["black", &tiny, "16", "16"])?;
    let tiny_arg = format!("{}[Q=82,strip]", scratch.join("tiny-out.jpg").display());
    let vips = |input: &str, size: &str, output: &str| -> Result<Duration, String> {
        let t = Instant::now();
        let status = Command::new("vipsthumbnail")
            .args([input, "--size", size, "-o", output])
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("vipsthumbnail failed on {input}: {status}"));
        }
        Ok(t.elapsed())
    };

    println!(
        "hearth-photo ingest vs vipsthumbnail: {} photos, {runs} runs each, {} threads",
        corpus.len(),
        cores()
    );
    println!(
        "{:<46} {:>7} {:>8} {:>8} {:>9} {:>6} {:>6} {:>8} {:>8}",
        "photo", "file MB", "ours ms", "vips ms", "vips net", "ratio", "net", "ours MB", "vips MB"
    );
    let mut rows = Vec::new();
    for path in &corpus {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let input = path.to_string_lossy().into_owned();
        // One untimed round each: page cache, lazy binding, allocator warm-up.
        check_ours(&name, &bytes)?;
        vips(&input, &size, &vips_arg)?;
        // Interleaved, so that both see the same machine load.
        let (mut ours_t, mut vips_t, mut startup_t) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let out = hearth_photo::ingest(&bytes, &hearth_photo::PhotoLimits::default());
            ours_t.push(t.elapsed());
            out.map_err(|e| format!("ingest refused corpus photo {name}: {e}"))?;
            vips_t.push(vips(&input, &size, &vips_arg)?);
            startup_t.push(vips(&tiny, "16", &tiny_arg)?);
        }
        let vips_dims = jpeg_dimensions(&std::fs::read(&vips_out).map_err(|e| e.to_string())?);
        let ours =
            hearth_photo::ingest(&bytes, &hearth_photo::PhotoLimits::default()).map_err(|e| e.to_string())?;
        if vips_dims != Some((ours.photo.width, ours.photo.height)) {
            return Err(format!(
                "{name}: vipsthumbnail made {vips_dims:?}, ours {}×{}: not the same job",
                ours.photo.width, ours.photo.height
            ));
        }
        let row = Row {
            ours_ms: median_ms(&mut ours_t),
            vips_ms: median_ms(&mut vips_t),
            startup_ms: median_ms(&mut startup_t),
            ours_rss: peak_rss_mb(&[&exe, "--child-ingest", &input])?,
            vips_rss: peak_rss_mb(&["vipsthumbnail", &input, "--size", &size, "-o", &vips_arg])?,
            name,
        };
        println!(
            "{:<46} {:>7.2} {:>8.1} {:>8.1} {:>9.1} {:>6.2} {:>6.2} {:>8.1} {:>8.1}",
            row.name,
            bytes.len() as f64 / 1e6,
            row.ours_ms,
            row.vips_ms,
            row.vips_net_ms(),
            row.ours_ms / row.vips_ms,
            row.ours_ms / row.vips_net_ms(),
            row.ours_rss,
            row.vips_rss
        );
        rows.push(row);
    }

    let med = |f: &dyn Fn(&Row) -> f64| {
        let mut v: Vec<f64> = rows.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let max = |f: &dyn Fn(&Row) -> f64| rows.iter().map(f).fold(f64::MIN, f64::max);
    let (ours_ms, vips_ms, vips_net_ms) =
        (med(&|r| r.ours_ms), med(&|r| r.vips_ms), med(&|r| r.vips_net_ms()));
    let ratio_net = ours_ms / vips_net_ms;
    let worst_net = max(&|r| r.ours_ms / r.vips_net_ms());
    println!();
    println!("median over {} photos (each the median of {runs} runs):", rows.len());
    println!(
        "  ours, in process (decode, resize, orient, encode photo + thumbnail, 2 × SHA-256): {ours_ms:.1} ms"
    );
    println!(
        "  vipsthumbnail, whole process (2048 px Q82 only):                                  {vips_ms:.1} ms"
    );
    println!(
        "  vipsthumbnail start-up (16×16 image):                                             {:.1} ms",
        med(&|r| r.startup_ms)
    );
    println!(
        "  vipsthumbnail net of start-up:                                                    {vips_net_ms:.1} ms"
    );
    println!(
        "  ratio ours / vipsthumbnail: {:.2} (whole process), {ratio_net:.2} (net of start-up; worst photo {worst_net:.2})",
        ours_ms / vips_ms
    );
    println!(
        "  peak RSS per photo: ours median {:.1} MB, max {:.1} MB; vipsthumbnail median {:.1} MB, max {:.1} MB",
        med(&|r| r.ours_rss),
        max(&|r| r.ours_rss),
        med(&|r| r.vips_rss),
        max(&|r| r.vips_rss)
    );
    let verdict = |ok: bool| if ok { "MET" } else { "NOT MET" };
    println!(
        "goal: time ≤ 1.0 × vipsthumbnail's median (net of its start-up): {}",
        verdict(ratio_net <= 1.0)
    );
    println!("goal: peak RSS ≤ {RSS_GOAL_MB} MB per photo: {}", verdict(max(&|r| r.ours_rss) <= RSS_GOAL_MB));
    Ok(())
}

/// Runs once outside the timing and checks the result is what the app expects of this corpus.
fn check_ours(name: &str, bytes: &[u8]) -> Result<(), String> {
    let p = hearth_photo::ingest(bytes, &hearth_photo::PhotoLimits::default())
        .map_err(|e| format!("ingest refused corpus photo {name}: {e} ({})", e.code()))?;
    let long = p.photo.width.max(p.photo.height);
    let thumb_long = p.thumbnail.width.max(p.thumbnail.height);
    if long != hearth_photo::MAX_LONG_EDGE || thumb_long != hearth_photo::THUMBNAIL_LONG_EDGE {
        return Err(format!(
            "{name}: expected a {} px photo and a {} px thumbnail (corpus photos must be larger than that), \
             got {:?} / {:?}",
            hearth_photo::MAX_LONG_EDGE,
            hearth_photo::THUMBNAIL_LONG_EDGE,
            p.photo,
            p.thumbnail
        ));
    }
    for out in [&p.photo.bytes, &p.thumbnail.bytes] {
        if out.windows(6).any(|w| w == b"Exif\0\0") || jpeg_dimensions(out).is_none() {
            return Err(format!("{name}: output is not a clean JPEG"));
        }
    }
    Ok(())
}

fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// Width and height from a JPEG's frame header (for checking both tools made the same size).
fn jpeg_dimensions(b: &[u8]) -> Option<(u32, u32)> {
    let mut pos = 2;
    while pos + 4 <= b.len() && b[pos] == 0xFF {
        let marker = b[pos + 1];
        let len = usize::from(u16::from_be_bytes([b[pos + 2], b[pos + 3]]));
        if matches!(marker, 0xC0..=0xC2) {
            let h = u16::from_be_bytes([*b.get(pos + 5)?, *b.get(pos + 6)?]);
            let w = u16::from_be_bytes([*b.get(pos + 7)?, *b.get(pos + 8)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        pos += 2 + len;
    }
    None
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn listed_jpegs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("HEARTH_PHOTO_CORPUS {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
            matches!(ext.as_deref(), Some("jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The cached corpus, built on first use.
fn default_corpus() -> Result<Vec<PathBuf>, String> {
    let dir = target_dir().join("photo-corpus");
    let manifest = dir.join("MANIFEST");
    if let Ok(text) = std::fs::read_to_string(&manifest) {
        let mut lines = text.lines();
        if lines.next() == Some(CORPUS_VERSION) {
            let files: Vec<PathBuf> = lines.map(|l| dir.join(l)).collect();
            if !files.is_empty() && files.iter().all(|f| f.is_file()) {
                return Ok(files);
            }
        }
    }
    if !on_path("exiftool") {
        return Err(format!("`exiftool` is not installed: apt-get install {TOOLS_PACKAGES}"));
    }
    let sources = wallpapers()?;
    if sources.len() < CORPUS_SIZE {
        return Err(format!(
            "found only {} wallpapers under /usr/share/backgrounds and /usr/share/wallpapers; \
             the corpus needs the Debian packages: apt-get install {PACKAGES}",
            sources.len()
        ));
    }
    eprintln!("building the photo corpus in {} from {} wallpapers…", dir.display(), sources.len());
    let building = dir.with_extension("building");
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).map_err(|e| format!("{}: {e}", building.display()))?;
    let mut names = Vec::new();
    for (i, (src, _)) in sources.iter().enumerate() {
        let orientation = i % 8 + 1;
        let stem = src
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .filter(|c| !matches!(*c, "usr" | "share" | "backgrounds" | "wallpapers" | "contents" | "/"))
            .collect::<Vec<_>>()
            .join("-");
        let stem = Path::new(&stem).with_extension("");
        let name = format!("{:02}-o{orientation}-{}.jpg", i + 1, stem.display());
        let out = building.join(&name);
        let out_arg = format!("{}[Q=92,subsample-mode=on,strip]", out.display());
        // Fill 4000×3000 and crop the centre: every corpus photo is exactly 12 MP.
        run(
            "vips",
            &["thumbnail", &src.to_string_lossy(), &out_arg, "4000", "--height", "3000", "--crop", "centre"],
        )?;
        let tags = [
            "-q".to_string(),
            "-overwrite_original".into(),
            format!("-Orientation#={orientation}"),
            "-Make=Hearth".into(),
            "-Model=Bench Camera".into(),
            format!("-DateTimeOriginal=2024:12:{:02} 09:{:02}:00", i % 28 + 1, i % 60),
            "-OffsetTimeOriginal=+08:00".into(),
            "-GPSLatitude=39.9042".into(),
            "-GPSLatitudeRef=N".into(),
            "-GPSLongitude=116.4074".into(),
            "-GPSLongitudeRef=E".into(),
            "-GPSAltitude=44".into(),
        ];
        let mut args: Vec<&str> = tags.iter().map(String::as_str).collect();
        let out_str = out.to_string_lossy().into_owned();
        args.push(&out_str);
        run("exiftool", &args)?;
        names.push(name);
    }
    let mut text = String::from(CORPUS_VERSION);
    for n in &names {
        text.push('\n');
        text.push_str(n);
    }
    std::fs::write(building.join("MANIFEST"), text).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&building, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(names.iter().map(|n| dir.join(n)).collect())
}

/// The largest picture of each wallpaper (they ship several sizes), biggest first.
fn wallpapers() -> Result<Vec<(PathBuf, u64)>, String> {
    let mut files = Vec::new();
    for root in ["/usr/share/backgrounds", "/usr/share/wallpapers"] {
        collect(Path::new(root), &mut files);
    }
    files.retain(|p| !p.to_string_lossy().contains("screenshot"));
    files.sort();
    if files.is_empty() {
        return Ok(Vec::new());
    }
    // One vipsheader call for all: "path: 5120x2880 uchar, 3 bands, srgb, pngload".
    let out = Command::new("vipsheader").args(&files).output().map_err(|e| format!("vipsheader: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut best: std::collections::BTreeMap<String, (PathBuf, u64)> = Default::default();
    for line in text.lines() {
        let Some((path, rest)) = line.rsplit_once(": ") else { continue };
        let Some((w, h)) = rest.split_whitespace().next().and_then(|d| d.split_once('x')) else { continue };
        let (Ok(w), Ok(h)) = (w.parse::<u64>(), h.parse::<u64>()) else { continue };
        let path = PathBuf::from(path);
        let key = wallpaper_key(&path);
        let pixels = w * h;
        if best.get(&key).is_none_or(|(_, p)| pixels > *p) {
            best.insert(key, (path, pixels));
        }
    }
    let mut all: Vec<(PathBuf, u64)> = best.into_values().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(CORPUS_SIZE);
    Ok(all)
}

/// Plasma ships `Name/contents/images/WxH.ext`; MATE ships `Name_WxH.jpg` beside `Name.jpg`.
fn wallpaper_key(path: &Path) -> String {
    let s = path.to_string_lossy();
    if s.contains("/contents/") {
        return path.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let base = match stem.rsplit_once('_') {
        Some((base, size))
            if size
                .split_once('x')
                .is_some_and(|(w, h)| w.parse::<u32>().is_ok() && h.parse::<u32>().is_ok()) =>
        {
            base.to_string()
        }
        _ => stem,
    };
    format!("{}/{base}", path.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if let Some(ext) = path.extension().and_then(|e| e.to_str())
            && matches!(ext.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png")
        {
            out.push(path);
        }
    }
}
