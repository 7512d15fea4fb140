//! Shared by the integration tests: realistic copies, a drawn signature, and
//! the real tools (poppler-utils, zbar-tools) that read the PDFs back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hearth_copy::*;
use sha2::{Digest, Sha256};

/// The system CJK font, loaded once per test binary. Fails (never skips) when it is missing.
pub fn font() -> &'static CjkFont {
    static FONT: OnceLock<CjkFont> = OnceLock::new();
    FONT.get_or_init(|| match CjkFont::find(None) {
        Ok(f) => f,
        Err(e) => panic!("{e}\n(on Debian/Ubuntu: apt-get install fonts-noto-cjk)"),
    })
}

/// Runs a tool; fails with the package to install when it is missing or fails.
pub fn run(tool: &str, args: &[&str]) -> String {
    let package = match tool {
        "zbarimg" => "zbar-tools",
        _ => "poppler-utils",
    };
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}): apt-get install {package}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed ({}): {}\n(the tests need: apt-get install poppler-utils zbar-tools fonts-noto-cjk)",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// SHA-256 as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A 900×300 signature pad PNG: black strokes of a handwritten name on a transparent background.
pub fn signature_png() -> Vec<u8> {
    let (w, h) = (900usize, 300usize);
    let mut px = vec![0u8; w * h * 4];
    let mut dot = |cx: f32, cy: f32, r: f32| {
        let (x0, x1) = ((cx - r).floor().max(0.0) as usize, ((cx + r).ceil() as usize).min(w - 1));
        let (y0, y1) = ((cy - r).floor().max(0.0) as usize, ((cy + r).ceil() as usize).min(h - 1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                let a = ((r - d + 0.5).clamp(0.0, 1.0) * 255.0) as u8;
                let o = (y * w + x) * 4;
                px[o + 3] = px[o + 3].max(a);
            }
        }
    };
    // A few strokes like a quick signature: loops, a long swash and two short ticks.
    let mut stroke = |f: &dyn Fn(f32) -> (f32, f32)| {
        for i in 0..=600 {
            let (x, y) = f(i as f32 / 600.0);
            dot(x, y, 3.2);
        }
    };
    stroke(&|t| (120.0 + 160.0 * t, 150.0 + 60.0 * (t * 12.0).sin() - 40.0 * t));
    stroke(&|t| (300.0 + 40.0 * (t * 6.3).cos() + 120.0 * t, 140.0 + 45.0 * (t * 6.3).sin()));
    stroke(&|t| (460.0 + 280.0 * t, 190.0 - 70.0 * t + 25.0 * (t * 18.0).sin()));
    stroke(&|t| (200.0 + 520.0 * t, 230.0 + 12.0 * (t * 3.0).sin()));
    stroke(&|t| (560.0 + 30.0 * t, 80.0 + 50.0 * t));
    stroke(&|t| (640.0 + 30.0 * t, 75.0 + 55.0 * t));
    encode_png(w as u32, h as u32, png::ColorType::Rgba, &px)
}

pub fn encode_png(w: u32, h: u32, color: png::ColorType, px: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().expect("png header");
    writer.write_image_data(px).expect("png data");
    writer.finish().expect("png finish");
    out
}

pub fn company() -> Company {
    Company { name: "幸福市热力有限公司".into(), hotline: "400-812-3456".into() }
}

fn hash_of(what: &str) -> String {
    sha256_hex(what.as_bytes())
}

/// A repair visit with seven steps, one part, a drawn signature and a rating of 4.
pub fn visit_copy() -> CustomerCopy {
    let step = |title: &str, time: &str, lines: &[&str]| StepSection {
        title: title.into(),
        time: time.into(),
        lines: lines.iter().map(|s| s.to_string()).collect(),
    };
    CustomerCopy {
        company: company(),
        title: "入户维修服务确认单".into(),
        work_order_id: "WO-2026-120137".into(),
        customer_name: "王秀英".into(),
        address: "幸福小区 3 号楼 2 单元 501 室".into(),
        technicians: vec![Technician {
            role: "维修人员".into(),
            name: "张建国".into(),
            tech_id: "T-0417".into(),
            phone: "138-0451-2207".into(),
        }],
        started_at: "2026-12-01 14:05".into(),
        ended_at: "2026-12-01 15:20".into(),
        body: Body::Visit {
            steps: vec![
                step("一、预约", "2026-11-30 16:40", &["电话预约上门时间为 12 月 1 日下午，用户同意。"]),
                step("二、到达", "2026-12-01 14:05", &["到达现场，出示工作证，说明来意。"]),
                step(
                    "三、检查",
                    "2026-12-01 14:12",
                    &[
                        "主卧暖气片上端不热，下端温热；阀门开度正常。",
                        "测得供水温度 52℃、回水温度 41℃，判断暖气片内有空气，且温控阀阀芯卡滞。",
                    ],
                ),
                step(
                    "四、告知",
                    "2026-12-01 14:25",
                    &["向用户说明故障原因、维修方案及配件费用，用户同意更换温控阀。"],
                ),
                step(
                    "五、维修",
                    "2026-12-01 14:30",
                    &[
                        "关闭进回水阀，泄压后更换 DN20 温控阀一只；暖气片放气至出水无气泡。",
                        "重新开阀，检查各接口无渗漏。",
                    ],
                ),
                step(
                    "六、验收",
                    "2026-12-01 15:05",
                    &["暖气片上下均热，主卧室温 19.5℃，用户确认供热恢复正常。"],
                ),
                step("七、清场", "2026-12-01 15:15", &["清理现场，带走旧配件及包装。"]),
            ],
            parts: vec![PartRow {
                name: "DN20 温控阀 ×1".into(),
                price: "¥ 85.00".into(),
                consent: "用户已同意".into(),
            }],
            outcome: "故障已排除：更换温控阀并排气后供热恢复正常。".into(),
        },
        answer: Answer::Signed {
            signature_png: signature_png(),
            satisfaction: 4,
            comment: Some("师傅很专业，讲解清楚，就是等了一会儿。".into()),
            at: "2026-12-01 15:18".into(),
        },
        record_id: "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e".into(),
        content_hash: hash_of("visit WO-2026-120137"),
        made_at: "2026-12-01 15:19".into(),
        verify_url: String::new(),
    }
}

pub fn testers() -> Vec<Technician> {
    vec![
        Technician {
            role: "测温人员（主测）".into(),
            name: "李海峰".into(),
            tech_id: "T-0233".into(),
            phone: "139-0451-7781".into(),
        },
        Technician {
            role: "测温人员（复核）".into(),
            name: "赵丽娜".into(),
            tech_id: "T-0561".into(),
            phone: "137-0451-3309".into(),
        },
    ]
}

pub fn reading(
    room: &str,
    label: &str,
    reading: &str,
    time: &str,
    verdict: &str,
    below: bool,
    note: &str,
) -> ReadingRow {
    ReadingRow {
        room: room.into(),
        label: label.into(),
        reading: reading.into(),
        time: time.into(),
        minimum: "18℃".into(),
        verdict: verdict.into(),
        below_standard: below,
        note: note.into(),
    }
}

/// Six rooms, one below 18 ℃, one corrected with a note; the customer refused to sign.
pub fn test_copy() -> CustomerCopy {
    CustomerCopy {
        company: company(),
        title: "入户测温记录".into(),
        work_order_id: "WO-2026-120412".into(),
        customer_name: "刘德明".into(),
        address: "和平家园 12 号楼 1 单元 302 室".into(),
        technicians: testers(),
        started_at: "2026-12-02 09:30".into(),
        ended_at: "2026-12-02 10:10".into(),
        body: Body::Test {
            thermometer: Thermometer {
                serial: "TH-2091-0042".into(),
                certificate: "JZ2026-118734".into(),
                valid_until: "2027-03-31".into(),
            },
            rows: vec![
                reading("主卧", "房间中央 1.5 m", "19.20℃", "09:36", "达标", false, ""),
                reading("次卧", "房间中央 1.5 m", "17.60℃", "09:41", "不达标", true, ""),
                reading(
                    "客厅",
                    "房间中央 1.5 m",
                    "20.10℃",
                    "09:47",
                    "达标",
                    false,
                    "首次读数 21.30℃ 误录，复核后更正",
                ),
                reading("书房", "房间中央 1.5 m", "18.40℃", "09:52", "达标", false, ""),
                reading("厨房", "房间中央 1.5 m", "16.90℃", "09:57", "不计入", false, "厨房不计入室温评定"),
                reading("卫生间", "房间中央 1.5 m", "18.80℃", "10:02", "达标", false, ""),
            ],
            conclusion: "室温不达标".into(),
            below_standard: true,
        },
        answer: Answer::Refused {
            reason: "用户认为次卧温度偏低是由于管网问题，要求公司先检修管网再测温，拒绝签字。".into(),
            at: "2026-12-02 10:08".into(),
        },
        record_id: "0190f3b7-11aa-7cde-8f01-23456789abcd".into(),
        content_hash: hash_of("test WO-2026-120412"),
        made_at: "2026-12-02 10:09".into(),
        verify_url: "https://heat.example.cn".into(),
    }
}

/// Forty rooms (a whole stairwell's measurements), signed: spans pages.
pub fn long_test_copy() -> CustomerCopy {
    let mut copy = test_copy();
    copy.work_order_id = "WO-2026-120999".into();
    let rows = (0..40)
        .map(|i| {
            let t = 17.0 + (i % 9) as f32 * 0.45;
            let below = t < 18.0;
            let note = if i % 7 == 3 { "读数经复核更正" } else { "" };
            reading(
                &format!("{}0{} 室 房间{}", i / 4 + 1, i % 4 + 1, i % 4 + 1),
                "房间中央 1.5 m",
                &format!("{t:.2}℃"),
                &format!("{:02}:{:02}", 9 + i / 12, (i * 5) % 60),
                if below { "不达标" } else { "达标" },
                below,
                note,
            )
        })
        .collect();
    if let Body::Test { rows: r, .. } = &mut copy.body {
        *r = rows;
    }
    copy.answer = Answer::Signed {
        signature_png: signature_png(),
        satisfaction: 3,
        comment: None,
        at: "2026-12-02 11:40".into(),
    };
    copy.content_hash = hash_of("long test");
    copy
}

/// What the tools read back from one rendered copy.
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub pages: usize,
    /// `pdftotext -layout`, per page.
    pub page_text: Vec<String>,
    /// The whole text with every space and line break removed: cells and
    /// wrapped lines are compared without layout.
    pub compact: String,
    pub images: Vec<PathBuf>,
}

pub fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Where a human can look at the samples: `<target>/copy-samples/`.
pub fn samples_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().map(|p| p.join("copy-samples"));
    let dir = dir.expect("target dir");
    std::fs::create_dir_all(&dir).expect("create copy-samples");
    dir
}

/// Renders, writes the PDF to a temp dir, reads it back with pdfinfo,
/// pdftotext and pdftoppm, and keeps copies under `copy-samples/`.
pub fn render_and_read(name: &str, copy: &CustomerCopy) -> Rendered {
    let pdf = render(copy, font()).unwrap_or_else(|e| panic!("render {name}: {e}"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf).expect("write pdf");
    let p = path.to_str().expect("utf-8 path");

    let info = run("pdfinfo", &[p]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in pdfinfo output:\n{info}"));
    let page_text: Vec<String> = (1..=pages)
        .map(|i| {
            let i = i.to_string();
            run("pdftotext", &["-layout", "-f", &i, "-l", &i, p, "-"])
        })
        .collect();
    let compact = compact(&page_text.concat());

    let prefix = tmp.path().join(name);
    run("pdftoppm", &["-r", "150", "-png", p, prefix.to_str().expect("utf-8")]);
    let mut images: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .expect("read tmp")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    images.sort();
    assert_eq!(images.len(), pages, "one PNG per page");

    let keep = samples_dir();
    // Pages of an earlier, longer render of the same sample would mislead whoever looks.
    for old in std::fs::read_dir(&keep).expect("read copy-samples").filter_map(|e| e.ok().map(|e| e.path())) {
        let stem = old.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let page = stem.strip_prefix(name).and_then(|rest| rest.strip_prefix('-'));
        if old.extension().is_some_and(|x| x == "png")
            && page.is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
        {
            std::fs::remove_file(&old).expect("remove old sample page");
        }
    }
    std::fs::write(keep.join(format!("{name}.pdf")), &pdf).expect("keep pdf");
    let mut kept = Vec::new();
    for img in &images {
        let dest = keep.join(img.file_name().expect("file name"));
        std::fs::copy(img, &dest).expect("keep png");
        kept.push(dest);
    }
    Rendered { pdf, pages, page_text, compact, images: kept }
}

/// The QR payloads zbarimg finds on a page image.
pub fn scan(image: &Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("cannot run zbarimg ({e}): apt-get install zbar-tools"));
    // zbarimg exits 4 when it finds no code: that is a result here, not a tool failure.
    assert!(
        out.status.success() || out.status.code() == Some(4),
        "zbarimg failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()
}

/// Asserts `needle` (compared without spaces) is in the text, with a readable failure.
pub fn assert_has(r: &Rendered, needle: &str) {
    assert!(
        r.compact.contains(&compact(needle)),
        "{needle:?} not found in the PDF text:\n{}",
        r.page_text.concat()
    );
}
