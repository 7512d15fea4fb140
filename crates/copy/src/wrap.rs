//! Line wrapping: Chinese breaks between any two characters, Latin words and
//! numbers (work order ids, phone numbers, readings) stay whole when they fit,
//! and closing punctuation never starts a line. Nothing is ever dropped but
//! the spaces at a break.

/// Replaces tabs by spaces, drops control characters other than `\n` and
/// invisible format characters (zero-width spaces and joiners, variation
/// selectors, BOM), and writes a character the font lacks (`has` is false)
/// as `[U+XXXX]`: visible and searchable, where the font would draw an
/// anonymous box and the text layer would lose it.
pub(crate) fn clean(text: &str, has: &dyn Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push('\n'),
            '\r' => {}
            c if c.is_control() || is_invisible(c) => {}
            c if has(c) => out.push(c),
            c => out.push_str(&format!("[U+{:04X}]", c as u32)),
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c as u32, 0x200B..=0x200F | 0x2060..=0x2064 | 0xFE00..=0xFE0F | 0xFEFF | 0xE0100..=0xE01EF)
}

/// Splits `text` into lines no wider than `width` (same unit as `advance`),
/// at `\n` and where a line would overflow. A single character wider than
/// `width` still gets a line of its own, so wrapping always ends.
pub(crate) fn wrap(text: &str, width: f32, advance: &dyn Fn(char) -> f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
            continue;
        }
        let mut start = 0;
        while start < chars.len() {
            let mut w = 0.0;
            let mut i = start;
            let mut last_break = None;
            while i < chars.len() {
                let a = advance(chars[i]);
                if w + a > width && i > start {
                    break;
                }
                w += a;
                i += 1;
                if i < chars.len() && can_break(chars[i - 1], chars[i]) {
                    last_break = Some(i);
                }
            }
            let end = if i >= chars.len() { chars.len() } else { last_break.unwrap_or(i) };
            let line: String = chars[start..end].iter().collect();
            out.push(line.trim_end_matches(' ').to_owned());
            start = end;
            while start < chars.len() && chars[start] == ' ' {
                start += 1;
            }
        }
    }
    out
}

fn can_break(before: char, after: char) -> bool {
    if before == ' ' || after == ' ' {
        return true;
    }
    if no_line_start(after) || no_line_end(before) {
        return false;
    }
    !(is_word(before) && is_word(after))
}

/// Latin letters, digits and ASCII signs: parts of ids, numbers and words.
fn is_word(c: char) -> bool {
    c.is_ascii_graphic() || (c.is_alphanumeric() && !is_cjk(c))
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

fn no_line_start(c: char) -> bool {
    "，。、；：？！）］｝〕〉》」』】〗…·・％‰℃°’”,.;:?!)]}%".contains(c)
}

fn no_line_end(c: char) -> bool {
    "（［｛〔〈《「『【〖‘“(".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character one unit wide: widths are counts.
    fn unit(_: char) -> f32 {
        1.0
    }

    #[test]
    fn chinese_text_breaks_between_any_two_characters() {
        assert_eq!(wrap("更换暖气片阀门并试压", 4.0, &unit), ["更换暖气", "片阀门并", "试压"]);
    }

    #[test]
    fn a_latin_word_or_number_is_kept_whole_when_it_fits() {
        assert_eq!(wrap("工单WO-2026-0001", 12.0, &unit), ["工单", "WO-2026-0001"]);
        assert_eq!(wrap("读数17.60℃正常", 7.0, &unit), ["读数", "17.60℃正", "常"]);
    }

    #[test]
    fn a_word_longer_than_the_line_is_broken_not_cut() {
        let lines = wrap("0123456789abcdef", 6.0, &unit);
        assert_eq!(lines, ["012345", "6789ab", "cdef"]);
    }

    #[test]
    fn closing_punctuation_does_not_start_a_line() {
        let lines = wrap("阀门已更换，压力正常。", 5.0, &unit);
        assert_eq!(lines, ["阀门已更", "换，压力正", "常。"]);
        assert!(lines.iter().all(|l| !l.starts_with(['，', '。'])));
    }

    #[test]
    fn spaces_at_a_break_are_dropped_and_nothing_else_is() {
        let text = "用户 王秀英 电话 138-0000-1111 地址 幸福小区 3 号楼 2 单元 501 室，供热正常。";
        for width in [3.0, 5.0, 8.0, 13.0, 40.0] {
            let lines = wrap(text, width, &unit);
            assert!(lines.iter().all(|l| l.chars().count() as f32 <= width), "{lines:?}");
            let strip = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
            assert_eq!(strip(&lines.concat()), strip(text), "width {width}");
        }
    }

    #[test]
    fn newlines_are_kept_as_line_breaks_including_empty_lines() {
        assert_eq!(wrap("第一行\n\n第三行", 10.0, &unit), ["第一行", "", "第三行"]);
        assert_eq!(wrap("", 10.0, &unit), [""]);
    }

    #[test]
    fn a_character_wider_than_the_line_still_gets_a_line_so_wrapping_ends() {
        assert_eq!(wrap("宽宽", 0.5, &unit), ["宽", "宽"]);
        assert_eq!(wrap("宽", 0.0, &unit), ["宽"]);
    }

    #[test]
    fn control_characters_are_cleaned_but_newlines_kept() {
        assert_eq!(clean("a\tb\r\nc\u{7}d", &|_| true), "a b\ncd");
    }

    #[test]
    fn a_character_the_font_lacks_is_written_as_its_code_point_not_dropped() {
        let has = |c: char| (c as u32) < 0x10000;
        assert_eq!(clean("很好😀\u{FE0F}！\u{200D}", &has), "很好[U+1F600]！");
    }
}
