//! Page layout: turns a copy into pages of simple drawing operations. Kept
//! apart from PDF writing so it can be checked (nothing outside the page,
//! nothing dropped) and so the page count is known before footers say
//! "共 N 页".

use crate::font::FaceMetrics;
use crate::qr::Matrix;
use crate::wrap::{clean, wrap};
use crate::{Answer, Body, CustomerCopy, stars};

/// A4 portrait, in PDF points.
pub(crate) const PAGE_W: f32 = 595.276;
pub(crate) const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 42.0;
const MARGIN_TOP: f32 = 32.0;
const MARGIN_BOTTOM: f32 = 28.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;
const LEFT: f32 = MARGIN_X;
const RIGHT: f32 = PAGE_W - MARGIN_X;
/// Inner padding of table cells.
const PAD_X: f32 = 5.0;
const PAD_Y: f32 = 3.5;
/// The signature and QR block at the end.
const QR_COL_W: f32 = 150.0;
const QR_SIZE: f32 = 108.0;
const QR_QUIET: usize = 4;
const SIGN_BLOCK_H: f32 = 160.0;
const SIGN_MAX_PT_PER_PX: f32 = 1.5;
/// A table row up to this tall is never split across pages.
const SHORT_ROW: f32 = 110.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

const BLACK: Rgb = Rgb(0, 0, 0);
const GREY: Rgb = Rgb(85, 85, 85);
const LIGHT: Rgb = Rgb(236, 236, 236);
const RULE: Rgb = Rgb(60, 60, 60);
const RED: Rgb = Rgb(200, 0, 0);

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub size: f32,
    pub bold: bool,
    pub color: Rgb,
}

impl Style {
    const fn new(size: f32) -> Self {
        Style { size, bold: false, color: BLACK }
    }
    const fn bold(self) -> Self {
        Style { bold: true, ..self }
    }
    const fn color(self, color: Rgb) -> Self {
        Style { color, ..self }
    }
    fn line_h(&self) -> f32 {
        self.size * 1.45
    }
}

const BODY: Style = Style::new(10.0);
const LABEL: Style = Style::new(9.5).color(GREY);
const CELL: Style = Style::new(9.5);
const HEAD: Style = Style::new(9.5).bold();
const SMALL: Style = Style::new(7.0).color(GREY);

/// One drawing operation; coordinates from the page's top left, y down.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// A line of text; `baseline` is the baseline's y.
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        text: String,
        width: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb>,
        stroke: Option<(f32, Rgb)>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
    },
    Signature {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    /// The QR code, `module` points a module, its top-left dark-able module at (x, y).
    Qr {
        x: f32,
        y: f32,
        module: f32,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Page {
    pub ops: Vec<Op>,
}

/// A table cell: paragraphs, each with a style; spans `span` columns.
struct Cell {
    paras: Vec<(String, Style)>,
    span: usize,
    fill: Option<Rgb>,
    center: bool,
}

impl Cell {
    fn new(text: &str, style: Style) -> Self {
        Cell { paras: vec![(text.to_owned(), style)], span: 1, fill: None, center: false }
    }
    fn label(text: &str) -> Self {
        Cell { fill: Some(LIGHT), ..Cell::new(text, LABEL) }
    }
    fn head(text: &str) -> Self {
        Cell { fill: Some(LIGHT), center: true, ..Cell::new(text, HEAD) }
    }
    fn span(self, span: usize) -> Self {
        Cell { span, ..self }
    }
    fn center(self) -> Self {
        Cell { center: true, ..self }
    }
}

/// A cell's wrapped lines during drawing.
struct CellLines {
    x: f32,
    w: f32,
    lines: Vec<(String, Style)>,
    fill: Option<Rgb>,
    center: bool,
}

struct Layout<'a> {
    m: &'a FaceMetrics<'a>,
    copy: &'a CustomerCopy,
    pages: Vec<Page>,
    y: f32,
    top: f32,
    bottom: f32,
    /// The header row of the table being drawn, repeated on each new page.
    head: Option<(Vec<f32>, Vec<Cell>)>,
    /// The page drawn on when not the last (footers are added after the page count is known).
    target: Option<usize>,
    /// Where the last table row ended (page count, y): the next row shares that rule.
    rule_at: Option<(usize, f32)>,
}

/// Lays the copy out on as many pages as it needs. `signature` is the
/// cropped signature's size in pixels (None for a refusal).
pub(crate) fn lay_out(
    copy: &CustomerCopy,
    m: &FaceMetrics<'_>,
    signature: Option<(u32, u32)>,
    qr: &Matrix,
) -> Vec<Page> {
    let mut l = Layout {
        m,
        copy,
        pages: Vec::new(),
        y: 0.0,
        top: 0.0,
        bottom: 0.0,
        head: None,
        target: None,
        rule_at: None,
    };
    l.bottom = PAGE_H - MARGIN_BOTTOM - l.footer_height() - 10.0;
    l.new_page();
    l.title();
    l.info_block();
    match &copy.body {
        Body::Visit { steps, parts, outcome } => {
            l.heading("服务过程");
            let head = vec![Cell::head("服务环节"), Cell::head("时间"), Cell::head("记录")];
            let rows: Vec<Vec<Cell>> = steps
                .iter()
                .map(|s| {
                    let lines: Vec<(String, Style)> = if s.lines.is_empty() {
                        vec![("—".to_owned(), CELL)]
                    } else {
                        s.lines.iter().map(|t| (t.clone(), CELL)).collect()
                    };
                    vec![
                        Cell::new(&s.title, CELL.bold()),
                        Cell::new(&s.time, CELL.color(GREY)).center(),
                        Cell { paras: lines, span: 1, fill: None, center: false },
                    ]
                })
                .collect();
            let widths = l.fit_widths(&head, &rows, 2, 0.0);
            l.table(&widths, Some(head), rows);
            l.heading("更换配件");
            if parts.is_empty() {
                l.paragraph("本次未更换配件。", BODY);
            } else {
                let head = vec![Cell::head("配件名称"), Cell::head("价格"), Cell::head("用户确认")];
                let rows: Vec<Vec<Cell>> = parts
                    .iter()
                    .map(|p| {
                        vec![
                            Cell::new(&p.name, CELL),
                            Cell::new(&p.price, CELL).center(),
                            Cell::new(&p.consent, CELL).center(),
                        ]
                    })
                    .collect();
                let widths = l.fit_widths(&head, &rows, 0, 100.0);
                l.table(&widths, Some(head), rows);
            }
            l.heading("处理结果");
            l.paragraph(outcome, Style::new(10.5));
        }
        Body::Test { rows, conclusion, below_standard, .. } => {
            l.heading("测温记录");
            let head: Vec<Cell> =
                ["房间", "测点", "读数", "测量时间", "最低要求", "判定", "备注"].map(Cell::head).into();
            let rows: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| {
                    let alert = if r.below_standard { CELL.bold().color(RED) } else { CELL };
                    vec![
                        Cell::new(&r.room, CELL),
                        Cell::new(&r.label, CELL),
                        Cell::new(&r.reading, alert).center(),
                        Cell::new(&r.time, CELL).center(),
                        Cell::new(&r.minimum, CELL).center(),
                        Cell::new(&r.verdict, alert).center(),
                        Cell::new(&r.note, Style::new(8.5)),
                    ]
                })
                .collect();
            let widths = l.fit_widths(&head, &rows, 6, 44.0);
            l.table(&widths, Some(head), rows);
            l.heading("测温结论");
            let style =
                if *below_standard { Style::new(14.0).bold().color(RED) } else { Style::new(14.0).bold() };
            l.paragraph(conclusion, style);
        }
    }
    l.heading("用户确认");
    match &copy.answer {
        Answer::Signed { satisfaction, comment, .. } => {
            l.paragraph(&format!("满意度：{}", stars(*satisfaction)), Style::new(11.0));
            if let Some(c) = comment.as_deref().filter(|c| !c.trim().is_empty()) {
                l.paragraph(&format!("用户意见：{c}"), BODY);
            }
        }
        Answer::Refused { reason, .. } => {
            l.paragraph("用户拒绝签字", Style::new(12.0).bold().color(RED));
            l.paragraph(&format!("拒签原因：{reason}"), BODY);
        }
    }
    l.sign_block(signature, qr);
    l.footers();
    l.pages
}

impl Layout<'_> {
    /// Text as it will be drawn: see [`clean`].
    fn prep(&self, text: &str) -> String {
        clean(text, &|c| self.m.has(c))
    }

    fn lines(&self, text: &str, style: Style, width: f32) -> Vec<String> {
        let size = style.size;
        wrap(&self.prep(text), width, &|c| self.m.advance(c) * size)
    }

    fn width(&self, text: &str, style: Style) -> f32 {
        self.m.width(&self.prep(text), style.size)
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let i = self.target.filter(|i| *i < self.pages.len()).unwrap_or(self.pages.len() - 1);
        &mut self.pages[i].ops
    }

    /// Text whose line box starts at `top`; glyphs sit in the CJK em box (0.88 above the baseline).
    fn text(&mut self, x: f32, top: f32, style: Style, text: &str) {
        let baseline = top + (style.line_h() - style.size) / 2.0 + 0.88 * style.size;
        let text = self.prep(text);
        let width = self.m.width(&text, style.size);
        self.ops().push(Op::Text { x, baseline, style, text, width });
    }

    fn text_right(&mut self, right: f32, top: f32, style: Style, text: &str) {
        let w = self.width(text, style);
        self.text(right - w, top, style, text);
    }

    fn text_center(&mut self, left: f32, width: f32, top: f32, style: Style, text: &str) {
        let w = self.width(text, style);
        self.text(left + (width - w) / 2.0, top, style, text);
    }

    fn rule(&mut self, y: f32, width: f32, color: Rgb) {
        self.ops().push(Op::Line { x1: LEFT, y1: y, x2: RIGHT, y2: y, width, color });
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        let first = self.pages.len() == 1;
        let (left, left_style, right) = if first {
            (
                self.copy.company.name.clone(),
                Style::new(10.0).bold(),
                format!("服务热线 {}", self.copy.company.hotline),
            )
        } else {
            (
                format!("{}（续）", self.copy.title),
                Style::new(9.0).color(GREY),
                format!("工单号 {}", self.copy.work_order_id),
            )
        };
        let right_style = Style::new(9.0).color(GREY);
        let right_w = self.width(&right, right_style).min(CONTENT_W / 2.0);
        let right_lines = self.lines(&right, right_style, right_w + 0.01);
        let left_lines = self.lines(&left, left_style, CONTENT_W - right_w - 12.0);
        let mut y = MARGIN_TOP;
        for line in &left_lines {
            self.text(LEFT, y, left_style, line);
            y += left_style.line_h();
        }
        let mut ry = MARGIN_TOP;
        for line in &right_lines {
            self.text_right(
                RIGHT,
                ry + (left_style.line_h() - right_style.line_h()) / 2.0,
                right_style,
                line,
            );
            ry += right_style.line_h();
        }
        let y = y.max(ry) + 3.0;
        self.rule(y, 0.8, RULE);
        self.top = y + 10.0;
        self.y = self.top;
    }

    fn footer_lines(&self) -> (Vec<String>, Vec<String>) {
        let c = self.copy;
        let first = format!("本单一式两份，用户与供热公司各执一份。如有问题请拨打 {}。", c.company.hotline);
        let second = format!("{} · 工单号 {} · 本单生成于 {}", c.company.name, c.work_order_id, c.made_at);
        (self.lines(&first, FOOT, FOOT_TEXT_W), self.lines(&second, FOOT2, FOOT_TEXT_W))
    }

    fn footer_height(&self) -> f32 {
        let (a, b) = self.footer_lines();
        a.len() as f32 * FOOT.line_h() + b.len() as f32 * FOOT2.line_h() + 4.0
    }

    fn footers(&mut self) {
        let (a, b) = self.footer_lines();
        let n = self.pages.len();
        let top = PAGE_H - MARGIN_BOTTOM - self.footer_height();
        for i in 0..n {
            self.target = Some(i);
            self.rule(top, 0.5, GREY);
            let mut y = top + 4.0;
            self.text_right(RIGHT, y, FOOT, &format!("第 {} 页 / 共 {n} 页", i + 1));
            for line in &a {
                self.text(LEFT, y, FOOT, line);
                y += FOOT.line_h();
            }
            for line in &b {
                self.text(LEFT, y, FOOT2, line);
                y += FOOT2.line_h();
            }
        }
        self.target = None;
    }

    fn title(&mut self) {
        let style = Style::new(20.0).bold();
        for line in self.lines(&self.copy.title, style, CONTENT_W) {
            self.text_center(LEFT, CONTENT_W, self.y, style, &line);
            self.y += style.line_h();
        }
        self.text_center(LEFT, CONTENT_W, self.y, Style::new(9.5).color(GREY), "（用户联）");
        self.y += Style::new(9.5).line_h() + 8.0;
    }

    fn info_block(&mut self) {
        let c = self.copy;
        let mut rows = vec![
            vec![
                Cell::label("工单号"),
                Cell::new(&c.work_order_id, BODY),
                Cell::label("用户姓名"),
                Cell::new(&c.customer_name, BODY),
            ],
            vec![Cell::label("地址"), Cell::new(&c.address, BODY).span(3)],
            vec![
                Cell::label("开始时间"),
                Cell::new(&c.started_at, BODY),
                Cell::label("结束时间"),
                Cell::new(&c.ended_at, BODY),
            ],
        ];
        for t in &c.technicians {
            let who = if t.tech_id.trim().is_empty() {
                t.name.clone()
            } else {
                format!("{}（工号 {}）", t.name, t.tech_id)
            };
            rows.push(vec![
                Cell::label(&t.role),
                Cell::new(&who, BODY),
                Cell::label("联系电话"),
                Cell::new(&t.phone, BODY),
            ]);
        }
        if let Body::Test { thermometer: t, .. } = &c.body {
            let text = format!("编号 {}　校准证书 {}　有效期至 {}", t.serial, t.certificate, t.valid_until);
            rows.push(vec![Cell::label("测温仪器"), Cell::new(&text, BODY).span(3)]);
        }
        // Labels as wide as the widest (roles like "测温人员（复核）"), values share the rest.
        let labels =
            rows.iter().flat_map(|r| r.iter().step_by(2)).map(|c| self.natural(c)).fold(0.0, f32::max);
        let label_w = labels.clamp(64.0, 120.0);
        let value_w = CONTENT_W / 2.0 - label_w;
        self.table(&[label_w, value_w, label_w, value_w], None, rows);
    }

    /// The width a cell needs to set each of its paragraphs on one line.
    fn natural(&self, cell: &Cell) -> f32 {
        let widest = cell
            .paras
            .iter()
            .flat_map(|(t, st)| t.split('\n').map(move |line| (line, *st)))
            .map(|(line, st)| self.width(line, st))
            .fold(0.0, f32::max);
        widest + 2.0 * PAD_X + 0.5
    }

    /// Column widths: each column as wide as its widest single-line cell (at
    /// most 30 % of the page, at least `min`), column `flex` takes what is left
    /// (at least 20 %; the others shrink and wrap if they must).
    fn fit_widths(&self, head: &[Cell], rows: &[Vec<Cell>], flex: usize, min: f32) -> Vec<f32> {
        let n = head.len();
        let mut w = vec![0.0f32; n];
        for row in std::iter::once(head).chain(rows.iter().map(Vec::as_slice)) {
            for (i, cell) in row.iter().enumerate().take(n) {
                w[i] = w[i].max(self.natural(cell).clamp(min, CONTENT_W * 0.3));
            }
        }
        let fixed: f32 = w.iter().enumerate().filter(|(i, _)| *i != flex).map(|(_, v)| v).sum();
        let min_flex = CONTENT_W * 0.2;
        if fixed > CONTENT_W - min_flex && fixed > 0.0 {
            let k = (CONTENT_W - min_flex) / fixed;
            w.iter_mut().for_each(|v| *v *= k);
        }
        let fixed: f32 = w.iter().enumerate().filter(|(i, _)| *i != flex).map(|(_, v)| v).sum();
        // Half of what the flexible column does not need goes to the others: tight cells look cramped.
        let flex_needs = std::iter::once(head)
            .chain(rows.iter().map(Vec::as_slice))
            .filter_map(|r| r.get(flex))
            .map(|c| self.natural(c))
            .fold(0.0, f32::max);
        let spare = (CONTENT_W - fixed - flex_needs).max(0.0) * 0.5;
        let others = n.saturating_sub(1).max(1) as f32;
        for (i, v) in w.iter_mut().enumerate() {
            if i != flex {
                *v += spare / others;
            }
        }
        let fixed: f32 = w.iter().enumerate().filter(|(i, _)| *i != flex).map(|(_, v)| v).sum();
        if let Some(f) = w.get_mut(flex) {
            *f = CONTENT_W - fixed;
        }
        w
    }

    /// A section heading, kept with at least a few lines of what follows.
    fn heading(&mut self, text: &str) {
        let style = Style::new(11.5).bold();
        self.y += 6.0;
        if self.bottom - self.y < style.line_h() + 48.0 && self.y > self.top + 1.0 {
            self.new_page();
        }
        let h = style.line_h();
        let y = self.y;
        self.ops().push(Op::Rect {
            x: LEFT,
            y: y + 3.0,
            w: 3.0,
            h: h - 6.0,
            fill: Some(BLACK),
            stroke: None,
        });
        self.text(LEFT + 8.0, self.y, style, text);
        self.y += h + 2.0;
    }

    fn paragraph(&mut self, text: &str, style: Style) {
        for line in self.lines(text, style, CONTENT_W) {
            if self.y + style.line_h() > self.bottom && self.y > self.top + 1.0 {
                self.new_page();
            }
            self.text(LEFT, self.y, style, &line);
            self.y += style.line_h();
        }
        self.y += 2.0;
    }

    fn new_page_with_head(&mut self) {
        self.new_page();
        if let Some((widths, head)) = self.head.take() {
            let cells = self.cell_lines(&widths, &head);
            let h = cells_height(&cells) + 2.0 * PAD_Y;
            self.draw_segment(&cells, h);
            self.y += h;
            self.head = Some((widths, head));
        }
    }

    fn table(&mut self, widths: &[f32], head: Option<Vec<Cell>>, rows: Vec<Vec<Cell>>) {
        if let Some(head) = head {
            // Keep the header with the first row.
            let head_cells = self.cell_lines(widths, &head);
            let first = rows.first().map(|r| self.cell_lines(widths, r)).unwrap_or_default();
            let need = cells_height(&head_cells) + first_line_height(&first) + 4.0 * PAD_Y;
            if self.y + need > self.bottom && self.y > self.top + 1.0 {
                self.new_page();
            }
            let h = cells_height(&head_cells) + 2.0 * PAD_Y;
            self.draw_segment(&head_cells, h);
            self.y += h;
            self.head = Some((widths.to_vec(), head));
        }
        for row in &rows {
            let cells = self.cell_lines(widths, row);
            self.row(cells);
        }
        self.head = None;
    }

    fn cell_lines(&self, widths: &[f32], cells: &[Cell]) -> Vec<CellLines> {
        let mut x = LEFT;
        let mut col = 0;
        let mut out = Vec::new();
        for cell in cells {
            let span = cell.span.max(1);
            let w: f32 = widths.iter().skip(col).take(span).sum();
            col += span;
            let mut lines = Vec::new();
            for (text, style) in &cell.paras {
                for line in self.lines(text, *style, w - 2.0 * PAD_X) {
                    lines.push((line, *style));
                }
            }
            out.push(CellLines { x, w, lines, fill: cell.fill, center: cell.center });
            x += w;
        }
        out
    }

    /// Draws one table row, splitting it across pages by lines when it does not fit.
    fn row(&mut self, mut cells: Vec<CellLines>) {
        loop {
            let need = cells_height(&cells) + 2.0 * PAD_Y;
            let room = self.bottom - self.y;
            if need <= room + 0.01 {
                self.draw_segment(&cells, need);
                self.y += need;
                return;
            }
            let fresh_room = self.bottom - self.top - self.head_height();
            let at_top = self.room_is_fresh();
            // A short row moves to the next page whole; a long one is split here
            // rather than leave most of this page empty.
            if !at_top && need <= fresh_room && (need <= SHORT_ROW || room < SHORT_ROW / 2.0) {
                self.new_page_with_head();
                continue;
            }
            // Too tall even for a fresh page: fill this page line by line, continue on the next.
            let avail = room - 2.0 * PAD_Y;
            let mut taken = Vec::new();
            let mut rest = Vec::new();
            for c in &mut cells {
                let mut h = 0.0;
                let mut n = 0;
                for (_, s) in &c.lines {
                    if h + s.line_h() > avail + 0.01 {
                        break;
                    }
                    h += s.line_h();
                    n += 1;
                }
                let tail = c.lines.split_off(n);
                taken.push(CellLines {
                    x: c.x,
                    w: c.w,
                    lines: std::mem::take(&mut c.lines),
                    fill: c.fill,
                    center: c.center,
                });
                rest.push(CellLines { x: c.x, w: c.w, lines: tail, fill: c.fill, center: c.center });
            }
            if taken.iter().all(|c| c.lines.is_empty()) {
                if at_top {
                    // Not even one line fits on an empty page (absurd sizes): draw it anyway, never loop.
                    self.draw_segment(&cells, need);
                    self.y += need;
                    return;
                }
                self.new_page_with_head();
                continue;
            }
            let h = room.max(0.0);
            self.draw_segment(&taken, h);
            self.y += h;
            cells = rest;
            self.new_page_with_head();
        }
    }

    fn head_height(&self) -> f32 {
        match &self.head {
            Some((widths, head)) => cells_height(&self.cell_lines(widths, head)) + 2.0 * PAD_Y,
            None => 0.0,
        }
    }

    /// Whether nothing but the page header (and a repeated table header) is on this page yet.
    fn room_is_fresh(&self) -> bool {
        self.y <= self.top + self.head_height() + 0.5
    }

    /// Cell backgrounds, borders and text for one row segment of height `h` at `self.y`.
    /// Each rule is drawn once (a shared edge drawn twice prints darker).
    fn draw_segment(&mut self, cells: &[CellLines], h: f32) {
        let y = self.y;
        let page = self.pages.len();
        let (Some(first), Some(last)) = (cells.first(), cells.last()) else { return };
        let (x0, x1) = (first.x, last.x + last.w);
        for c in cells {
            if let Some(fill) = c.fill {
                // Inset by half a rule, so it does not paint over the rule of the row above.
                let (x, y, w, h) = (c.x + 0.3, y + 0.3, c.w - 0.6, h - 0.6);
                self.ops().push(Op::Rect { x, y, w, h, fill: Some(fill), stroke: None });
            }
        }
        let line = |x1: f32, y1: f32, x2: f32, y2: f32| Op::Line { x1, y1, x2, y2, width: 0.6, color: RULE };
        if self.rule_at != Some((page, y)) {
            self.ops().push(line(x0, y, x1, y));
        }
        self.ops().push(line(x0, y + h, x1, y + h));
        for c in cells {
            self.ops().push(line(c.x, y, c.x, y + h));
        }
        self.ops().push(line(x1, y, x1, y + h));
        self.rule_at = Some((page, y + h));
        for c in cells {
            // Top-aligned: in a tall row the step's title stays beside the start of its text.
            let mut top = y + PAD_Y;
            for (line, style) in &c.lines {
                if c.center {
                    self.text_center(c.x, c.w, top, *style, line);
                } else {
                    self.text(c.x + PAD_X, top, *style, line);
                }
                top += style.line_h();
            }
        }
    }

    /// The signature box (or the refusal) and the QR code, at the bottom of the last page.
    fn sign_block(&mut self, signature: Option<(u32, u32)>, qr: &Matrix) {
        let small_lh = SMALL.line_h();
        let id_lines = self.lines(&format!("记录编号 {}", self.copy.record_id), SMALL, QR_COL_W);
        let hash = &self.copy.content_hash;
        let (h1, h2) = hash.split_at(hash.len() / 2);
        let mut qr_text = id_lines;
        qr_text.extend(["内容哈希".to_owned(), h1.to_owned(), h2.to_owned()]);
        if !self.copy.verify_url.is_empty() {
            // The code is a link: say what scanning it does.
            qr_text.push("手机扫码可核验本单真伪".to_owned());
        }
        let block_h = SIGN_BLOCK_H.max(QR_SIZE + 2.0 + qr_text.len() as f32 * small_lh);
        if self.bottom - self.y < block_h + 10.0 {
            self.new_page();
        }
        let y = self.bottom - block_h;
        let box_w = CONTENT_W - QR_COL_W - 14.0;
        self.ops().push(Op::Rect { x: LEFT, y, w: box_w, h: block_h, fill: None, stroke: Some((0.8, RULE)) });
        let label = Style::new(10.5).bold();
        self.text(LEFT + 8.0, y + 6.0, label, "用户签字");
        let time_style = Style::new(9.0).color(GREY);
        let time_top = y + block_h - time_style.line_h() - 6.0;
        match (&self.copy.answer, signature) {
            (Answer::Signed { at, .. }, Some((pw, ph))) => {
                let area_x = LEFT + 12.0;
                let area_y = y + 8.0 + label.line_h();
                let area_w = box_w - 24.0;
                let area_h = time_top - area_y - 4.0;
                let scale = (area_w / pw as f32).min(area_h / ph as f32).min(SIGN_MAX_PT_PER_PX);
                let (w, h) = (pw as f32 * scale, ph as f32 * scale);
                let sx = area_x + (area_w - w) / 2.0;
                let sy = area_y + (area_h - h) / 2.0;
                self.ops().push(Op::Signature { x: sx, y: sy, w, h });
                self.text(LEFT + 8.0, time_top, time_style, &format!("签字时间：{at}"));
            }
            (Answer::Refused { at, .. }, _) | (Answer::Signed { at, .. }, None) => {
                let big = Style::new(18.0).bold().color(RED);
                self.text_center(LEFT, box_w, y + block_h / 2.0 - big.line_h() / 2.0, big, "用户拒绝签字");
                self.text(LEFT + 8.0, time_top, time_style, &format!("拒签时间：{at}"));
            }
        }
        // The QR code, its quiet zone inside QR_SIZE, centred in its column.
        let col_x = RIGHT - QR_COL_W;
        let module = QR_SIZE / (qr.width + 2 * QR_QUIET) as f32;
        let qx = col_x + (QR_COL_W - QR_SIZE) / 2.0;
        self.ops().push(Op::Qr { x: qx + QR_QUIET as f32 * module, y: y + QR_QUIET as f32 * module, module });
        let mut ty = y + QR_SIZE + 2.0;
        for line in &qr_text {
            self.text_center(col_x, QR_COL_W, ty, SMALL, line);
            ty += small_lh;
        }
        self.y = y + block_h;
    }
}

const FOOT: Style = Style::new(8.5);
const FOOT2: Style = Style::new(8.0).color(GREY);
/// Room left of the page number in the footer.
const FOOT_TEXT_W: f32 = CONTENT_W - 90.0;

fn cells_height(cells: &[CellLines]) -> f32 {
    cells.iter().map(|c| c.lines.iter().map(|(_, s)| s.line_h()).sum::<f32>()).fold(0.0, f32::max)
}

fn first_line_height(cells: &[CellLines]) -> f32 {
    cells.iter().filter_map(|c| c.lines.first().map(|(_, s)| s.line_h())).fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::qr_payload;
    use crate::{Answer, CjkFont, Company, ReadingRow, StepSection, Technician, Thermometer};

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn font() -> CjkFont {
        CjkFont::find(None).unwrap_or_else(|e| panic!("{e} (apt-get install fonts-noto-cjk)"))
    }

    fn tech(role: &str, name: &str) -> Technician {
        Technician {
            role: role.into(),
            name: name.into(),
            tech_id: "T-0417".into(),
            phone: "138-0451-2207".into(),
        }
    }

    fn base(body: Body, answer: Answer) -> CustomerCopy {
        CustomerCopy {
            company: Company { name: "幸福市热力有限公司".into(), hotline: "400-812-3456".into() },
            title: "入户维修服务确认单".into(),
            work_order_id: "WO-2026-120137".into(),
            customer_name: "王秀英".into(),
            address: "幸福小区 3 号楼 2 单元 501 室".into(),
            technicians: vec![tech("维修人员", "张建国")],
            started_at: "2026-12-01 14:05".into(),
            ended_at: "2026-12-01 15:20".into(),
            body,
            answer,
            record_id: "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e".into(),
            content_hash: HASH.into(),
            made_at: "2026-12-01 15:19".into(),
            verify_url: String::new(),
        }
    }

    fn signed() -> Answer {
        Answer::Signed {
            signature_png: vec![],
            satisfaction: 5,
            comment: None,
            at: "2026-12-01 15:18".into(),
        }
    }

    fn visit(steps: usize, line: &str) -> Body {
        let steps = (0..steps)
            .map(|i| StepSection {
                title: format!("第{i}步"),
                time: "2026-12-01 14:12".into(),
                lines: vec![line.into()],
            })
            .collect();
        Body::Visit { steps, parts: vec![], outcome: "故障已排除。".into() }
    }

    fn test_body(rows: usize, note: &str) -> Body {
        let rows = (0..rows)
            .map(|i| ReadingRow {
                room: format!("房间{i}"),
                label: "房间中央 1.5 m".into(),
                reading: format!("{}.50℃", 16 + i % 5),
                time: "2026-12-02 09:36".into(),
                minimum: "18℃".into(),
                verdict: "不达标".into(),
                below_standard: i % 2 == 0,
                note: note.into(),
            })
            .collect();
        Body::Test {
            thermometer: Thermometer {
                serial: "TH-1".into(),
                certificate: "JZ-1".into(),
                valid_until: "2027-03-31".into(),
            },
            rows,
            conclusion: "室温不达标".into(),
            below_standard: true,
        }
    }

    /// Copies that push the layout: long fields everywhere, unbroken strings, many rows, tall rows.
    fn stress() -> Vec<CustomerCopy> {
        let long = "关闭进回水阀，泄压后更换 DN20 温控阀一只；暖气片放气至出水无气泡。".repeat(40);
        let unbroken = "X".repeat(400);
        let mut all = vec![
            base(visit(7, "到达现场，出示工作证，说明来意。"), signed()),
            base(visit(30, &long), signed()),
            base(test_body(40, ""), Answer::Refused { reason: long.clone(), at: "10:08".into() }),
            base(test_body(12, &long), signed()),
        ];
        let mut odd = base(visit(3, &unbroken), signed());
        odd.company.name = "幸福市城市供热集团有限责任公司第二分公司（城南片区客户服务中心）".repeat(2);
        odd.work_order_id = format!("WO-{}", "9".repeat(90));
        odd.customer_name = unbroken.clone();
        odd.address = long.clone();
        odd.record_id = "r".repeat(64);
        odd.technicians = vec![tech("测温人员（主测）", &unbroken), tech("测温人员（复核）", "赵丽娜")];
        all.push(odd);
        let mut empty = base(
            Body::Visit { steps: vec![], parts: vec![], outcome: String::new() },
            Answer::Refused { reason: String::new(), at: String::new() },
        );
        empty.customer_name.clear();
        empty.address.clear();
        empty.technicians.clear();
        all.push(empty);
        all
    }

    fn pages_of(copy: &CustomerCopy, font: &CjkFont) -> Vec<Page> {
        let m = font.metrics().unwrap();
        let qr = Matrix::encode(&qr_payload(&copy.verify_url, &copy.record_id, &copy.content_hash)).unwrap();
        let sig = matches!(copy.answer, Answer::Signed { .. }).then_some((900, 300));
        lay_out(copy, &m, sig, &qr)
    }

    fn texts(page: &Page) -> Vec<(f32, f32, f32, f32, &str)> {
        page.ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { x, baseline, style, text, width } => Some((
                    *x,
                    baseline - 0.88 * style.size,
                    x + width,
                    baseline + 0.12 * style.size,
                    text.as_str(),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_line_stays_inside_the_margins_and_no_two_lines_overlap() {
        let font = font();
        for (n, copy) in stress().iter().enumerate() {
            for (p, page) in pages_of(copy, &font).iter().enumerate() {
                let boxes = texts(page);
                for &(x0, y0, x1, y1, t) in &boxes {
                    assert!(
                        x0 >= LEFT - 0.01 && x1 <= RIGHT + 0.01,
                        "copy {n} page {p}: {t:?} at {x0}..{x1}"
                    );
                    assert!(
                        y0 >= MARGIN_TOP - 1.0 && y1 <= PAGE_H - MARGIN_BOTTOM,
                        "copy {n} page {p}: {t:?} y {y0}"
                    );
                }
                for (i, a) in boxes.iter().enumerate() {
                    for b in &boxes[i + 1..] {
                        let w = a.2.min(b.2) - a.0.max(b.0);
                        let h = a.3.min(b.3) - a.1.max(b.1);
                        assert!(w <= 0.01 || h <= 0.01, "copy {n} page {p}: {:?} overlaps {:?}", a.4, b.4);
                    }
                }
            }
        }
    }

    /// `needle`'s characters (less spaces) appear in order in `hay`.
    fn in_order(hay: &str, needle: &str) -> bool {
        let mut hay = hay.chars();
        needle.chars().filter(|c| *c != ' ').all(|c| hay.any(|h| h == c))
    }

    #[test]
    fn no_character_of_any_field_is_dropped_however_long() {
        let font = font();
        for (n, copy) in stress().iter().enumerate() {
            let all: String = pages_of(copy, &font).iter().flat_map(texts).map(|t| t.4).collect();
            let mut fields =
                vec![&copy.title, &copy.work_order_id, &copy.customer_name, &copy.address, &copy.made_at];
            fields.extend(copy.technicians.iter().flat_map(|t| [&t.role, &t.name, &t.phone]));
            match &copy.body {
                Body::Visit { steps, outcome, .. } => {
                    fields.extend(steps.iter().flat_map(|s| std::iter::once(&s.title).chain(&s.lines)));
                    fields.push(outcome);
                }
                Body::Test { rows, .. } => {
                    fields.extend(rows.iter().flat_map(|r| [&r.room, &r.reading, &r.note]))
                }
            }
            if let Answer::Refused { reason, .. } = &copy.answer {
                fields.push(reason);
            }
            for f in fields {
                assert!(in_order(&all, f), "copy {n}: {f:?} is not all printed");
            }
        }
    }

    #[test]
    fn long_content_flows_onto_more_pages_and_the_qr_code_is_on_the_last_only() {
        let font = font();
        let copy = base(test_body(40, ""), signed());
        let pages = pages_of(&copy, &font);
        assert!(pages.len() >= 2);
        let qr_pages: Vec<usize> =
            (0..pages.len()).filter(|i| pages[*i].ops.iter().any(|op| matches!(op, Op::Qr { .. }))).collect();
        assert_eq!(qr_pages, [pages.len() - 1]);
        let n = pages.len();
        for (i, page) in pages.iter().enumerate() {
            let footer = format!("第 {} 页 / 共 {n} 页", i + 1);
            assert!(texts(page).iter().any(|t| t.4 == footer), "page {i} has {footer}");
        }
    }

    #[test]
    fn the_qr_code_sits_at_the_bottom_right_with_its_quiet_zone_clear() {
        let font = font();
        let copy = base(visit(7, "到达现场。"), signed());
        let pages = pages_of(&copy, &font);
        let last = &pages[pages.len() - 1];
        let Some(&Op::Qr { x, y, module }) = last.ops.iter().find(|op| matches!(op, Op::Qr { .. })) else {
            panic!("no QR code")
        };
        let side = 45.0 * module;
        assert!(module >= 2.0, "modules of {module} pt are too small to print and scan");
        assert!(x + side <= RIGHT && x > PAGE_W / 2.0 && y > PAGE_H / 2.0);
        let quiet = QR_QUIET as f32 * module;
        let (qx0, qy0, qx1, qy1) = (x - quiet, y - quiet, x + side + quiet, y + side + quiet);
        for (x0, y0, x1, y1, t) in texts(last) {
            assert!(x1 <= qx0 || x0 >= qx1 || y1 <= qy0 || y0 >= qy1, "{t:?} inside the QR's quiet zone");
        }
    }
}
