//! The customer's copy rendered for real and read back with the tools an
//! auditor would use: pdftotext, pdftoppm, zbarimg (poppler-utils, zbar-tools).

mod common;

use common::*;
use hearth_copy::*;

#[test]
fn a_signed_visit_prints_every_field_and_its_qr_code_scans_to_the_record() {
    let copy = visit_copy();
    let r = render_and_read("visit-signed", &copy);
    assert_eq!(r.pages, 1, "a typical visit fits on one page");

    for needle in [
        "入户维修服务确认单",
        "（用户联）",
        "幸福市热力有限公司",
        "WO-2026-120137",
        "王秀英",
        "幸福小区 3 号楼 2 单元 501 室",
        "维修人员",
        "张建国（工号 T-0417）",
        "138-0451-2207",
        "2026-12-01 14:05",
        "2026-12-01 15:20",
        "DN20 温控阀 ×1",
        "¥ 85.00",
        "用户已同意",
        "故障已排除：更换温控阀并排气后供热恢复正常。",
        "满意度：★★★★☆ (4/5)",
        "用户意见：师傅很专业，讲解清楚，就是等了一会儿。",
        "用户签字",
        "签字时间：2026-12-01 15:18",
        "本单一式两份，用户与供热公司各执一份。",
        "如有问题请拨打 400-812-3456",
        "本单生成于 2026-12-01 15:19",
        "第 1 页 / 共 1 页",
        "记录编号 0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e",
    ] {
        assert_has(&r, needle);
    }
    let Body::Visit { steps, .. } = &copy.body else { unreachable!() };
    assert_eq!(steps.len(), 7);
    for s in steps {
        assert_has(&r, &s.title);
        assert_has(&r, &s.time);
        for line in &s.lines {
            assert_has(&r, line);
        }
    }
    // The hash is printed in two halves under the QR code.
    let (h1, h2) = copy.content_hash.split_at(32);
    assert_has(&r, h1);
    assert_has(&r, h2);
    assert!(!r.compact.contains("用户拒绝签字"));
    assert!(!r.compact.contains("手机扫码"), "no link, no words about scanning one");

    let payloads = scan(&r.images[0]);
    assert_eq!(payloads, [qr_payload(&copy.verify_url, &copy.record_id, &copy.content_hash)]);
    let (id, hash) = parse_qr_payload(&payloads[0]).unwrap();
    assert_eq!((id, hash), (copy.record_id.clone(), copy.content_hash.clone()));
    assert_eq!(hash_len_and_hex(&copy.content_hash), (64, true));
}

fn hash_len_and_hex(h: &str) -> (usize, bool) {
    (h.len(), h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn the_font_is_embedded_as_a_small_subset_with_a_unicode_map() {
    let pdf = render(&visit_copy(), font()).unwrap();
    // The whole Noto Sans CJK collection is about 20 MB; a subset of a few hundred glyphs is tens of KB.
    assert!(pdf.len() < 500 * 1024, "PDF is {} bytes: the font is not subset", pdf.len());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("v.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let fonts = run("pdffonts", &[path.to_str().unwrap()]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 1, "one font:\n{fonts}");
    // Columns: name type encoding emb sub uni object ID.
    let cols: Vec<&str> = rows[0].split_whitespace().collect();
    assert!(cols[0].contains('+'), "subset fonts are named XXXXXX+Name:\n{fonts}");
    assert_eq!(
        &cols[cols.len() - 5..cols.len() - 2],
        ["yes", "yes", "yes"],
        "embedded, subset, ToUnicode:\n{fonts}"
    );
    // The signature is one image, not lost and not the whole pad.
    let images = run("pdfimages", &["-list", path.to_str().unwrap()]);
    assert_eq!(images.lines().skip(2).count(), 1, "one image (the signature):\n{images}");
}

#[test]
fn a_refused_temperature_test_prints_both_testers_every_reading_and_the_reason() {
    let copy = test_copy();
    let r = render_and_read("test-refused", &copy);
    assert_eq!(r.pages, 1);
    for needle in [
        "入户测温记录",
        "WO-2026-120412",
        "刘德明",
        "和平家园 12 号楼 1 单元 302 室",
        "测温人员（主测）",
        "李海峰（工号 T-0233）",
        "139-0451-7781",
        "测温人员（复核）",
        "赵丽娜（工号 T-0561）",
        "137-0451-3309",
        "编号 TH-2091-0042",
        "校准证书 JZ2026-118734",
        "有效期至 2027-03-31",
        "2026-12-02 09:30",
        "2026-12-02 10:10",
        "测温结论",
        "室温不达标",
        "用户拒绝签字",
        "拒签原因：用户认为次卧温度偏低是由于管网问题，要求公司先检修管网再测温，拒绝签字。",
        "拒签时间：2026-12-02 10:08",
        "如有问题请拨打 400-812-3456",
        "第 1 页 / 共 1 页",
    ] {
        assert_has(&r, needle);
    }
    let Body::Test { rows, .. } = &copy.body else { unreachable!() };
    for row in rows {
        for cell in [&row.room, &row.reading, &row.time, &row.minimum, &row.verdict, &row.note] {
            assert_has(&r, cell);
        }
        // Each row reads across on one line: room … reading … time … verdict.
        let line = r.page_text[0]
            .lines()
            .find(|l| l.contains(&row.reading))
            .unwrap_or_else(|| panic!("no line with {}", row.reading));
        assert!(
            line.contains(&row.room) && line.contains(&row.time) && line.contains(&row.verdict),
            "{line}"
        );
    }
    assert!(!r.compact.contains("满意度"), "a refusal has no rating");
    // With the server's address the code is a link a phone opens, and the copy says so.
    let link = format!("https://heat.example.cn/verify?record={}&hash={}", copy.record_id, copy.content_hash);
    assert_eq!(scan(&r.images[0]), [link]);
    assert!(r.compact.contains("手机扫码可核验本单真伪"));
}

#[test]
fn a_forty_room_test_flows_onto_numbered_pages_with_the_table_header_repeated() {
    let copy = long_test_copy();
    let r = render_and_read("test-long", &copy);
    // With fonts-noto-cjk's Noto Sans CJK SC: 24 rows on the first page, the rest and the signature on the second.
    assert_eq!(r.pages, 2, "40 rooms and the signature take two pages");
    let n = r.pages;
    for (i, text) in r.page_text.iter().enumerate() {
        let c = compact(text);
        assert!(
            c.contains(&compact(&format!("第 {} 页 / 共 {n} 页", i + 1))),
            "page {} footer:\n{text}",
            i + 1
        );
        assert!(c.contains("本单一式两份"), "footer on page {}", i + 1);
        if i > 0 {
            assert!(
                c.contains("入户测温记录（续）") && c.contains("WO-2026-120999"),
                "continuation header:\n{text}"
            );
        }
    }
    // The table header is repeated on every page the table reaches.
    let table_pages = r.page_text.iter().filter(|t| t.contains("测量时间")).count();
    assert!(table_pages >= 2, "header repeated: {table_pages}");
    let Body::Test { rows, .. } = &copy.body else { unreachable!() };
    for row in rows {
        assert_has(&r, &format!("{} {}", row.room, row.label));
    }
    let readings: Vec<&str> = rows.iter().map(|r| r.reading.as_str()).collect();
    let printed = r.page_text.iter().flat_map(|t| t.split_whitespace()).filter(|w| w.ends_with('℃')).count();
    assert!(printed >= readings.len(), "{printed} readings printed for {} rows", readings.len());
    // The QR code is on the last page only, and scans.
    let last = r.images.len() - 1;
    assert_eq!(scan(&r.images[last]), [qr_payload(&copy.verify_url, &copy.record_id, &copy.content_hash)]);
    for img in &r.images[..last] {
        assert!(scan(img).is_empty());
    }
}

#[test]
fn a_very_long_note_is_wrapped_and_carried_over_never_cut_off() {
    let mut copy = visit_copy();
    let long: String =
        (1..=60).map(|i| format!("第{i}句：检查了第{i}组暖气片的阀门与接口，未见渗漏。")).collect();
    if let Body::Visit { steps, .. } = &mut copy.body {
        steps[2].lines.push(long.clone());
    }
    let r = render_and_read("visit-long-note", &copy);
    assert!(r.pages >= 2, "a 1600-character note needs a second page");
    // Page headers, footers and the repeated table header come between the halves of a split row.
    let body: String = r
        .page_text
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| {
            !(l.contains("本单一式两份")
                || l.contains("本单生成于")
                || l.contains("工单号 WO")
                || l.contains("服务环节"))
        })
        .collect();
    let body = compact(&body);
    for i in 1..=60 {
        let sentence = format!("第{i}句：检查了第{i}组暖气片的阀门与接口，未见渗漏。");
        assert!(body.contains(&sentence), "{sentence} not found in:\n{}", r.page_text.concat());
    }
    assert_eq!(
        scan(&r.images[r.images.len() - 1]),
        [qr_payload(&copy.verify_url, &copy.record_id, &copy.content_hash)]
    );
}

#[test]
fn the_same_copy_renders_to_the_same_bytes() {
    let copy = visit_copy();
    assert_eq!(render(&copy, font()).unwrap(), render(&copy, font()).unwrap());
}

#[test]
fn a_character_the_font_lacks_is_printed_as_its_code_point() {
    let mut copy = visit_copy();
    if let Answer::Signed { comment, .. } = &mut copy.answer {
        *comment = Some("很好😀\u{FE0F}".into());
    }
    let r = render_and_read("visit-emoji", &copy);
    assert_has(&r, "用户意见：很好[U+1F600]");
}

/// Every word's box from `pdftotext -bbox`: (page, xMin, yMin, xMax, yMax, text).
fn word_boxes(pdf: &[u8]) -> Vec<(usize, f32, f32, f32, f32, String)> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("b.pdf");
    std::fs::write(&path, pdf).unwrap();
    let html = run("pdftotext", &["-bbox", path.to_str().unwrap(), "-"]);
    let attr = |line: &str, name: &str| -> f32 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[start..].split('"').next().unwrap().parse().unwrap()
    };
    let mut page = 0;
    let mut out = Vec::new();
    for line in html.lines().map(str::trim) {
        if line.starts_with("<page") {
            page += 1;
        } else if line.starts_with("<word") {
            let text = line.split('>').nth(1).unwrap_or("").trim_end_matches("</word").to_owned();
            out.push((
                page,
                attr(line, "xMin"),
                attr(line, "yMin"),
                attr(line, "xMax"),
                attr(line, "yMax"),
                text,
            ));
        }
    }
    out
}

#[test]
fn absurdly_long_fields_wrap_inside_the_page_margins() {
    let mut copy = test_copy();
    let unbroken = "0".repeat(300);
    copy.company.name = "幸福市城市供热集团有限责任公司第二分公司（城南片区客户服务中心）".repeat(2);
    copy.work_order_id = format!("WO-{}", "9".repeat(80));
    copy.customer_name = unbroken.clone();
    copy.address = "和平家园 12 号楼 1 单元 302 室".repeat(12);
    copy.record_id = "r".repeat(64);
    if let Body::Test { rows, .. } = &mut copy.body {
        rows[0].note = unbroken.clone();
        rows[1].room = "主卧（朝北，外墙两面，窗户为单层玻璃，用户自行加装了窗帘和挡风条）".into();
    }
    copy.answer = Answer::Refused { reason: "用户不同意。".repeat(80), at: "2026-12-02 10:08".into() };
    let r = render_and_read("test-absurd", &copy);
    assert_has(&r, &unbroken[..100]);
    let (left, right) = (42.0 - 1.0, 595.276 - 42.0 + 1.0);
    let words = word_boxes(&r.pdf);
    assert!(words.len() > 100);
    for (page, x0, y0, x1, y1, text) in &words {
        assert!(*x0 >= left && *x1 <= right, "page {page}: {text:?} at x {x0}..{x1} outside the margins");
        assert!(*y0 >= 0.0 && *y1 <= 841.89, "page {page}: {text:?} at y {y0}..{y1} outside the page");
    }
    assert_eq!(
        scan(&r.images[r.images.len() - 1]),
        [qr_payload(&copy.verify_url, &copy.record_id, &copy.content_hash)]
    );
}
