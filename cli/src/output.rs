//! Writes students to stdout as they stream in: a table for people, JSON or CSV for programs.
//!
//! Memory is bounded whatever the row count: JSON and CSV hold one row; the table holds its
//! first page, to fit the column widths to the data, then streams.

use std::io::{self, Write};

use service::{Student, format_score};
use unicode_width::UnicodeWidthStr;

use crate::opt::Format;

/// Receives rows one at a time.
pub trait RowWriter {
    /// Writes (or, for the table's first page, holds) one row.
    fn row(&mut self, student: &Student) -> io::Result<()>;
    /// Writes what closes the output and flushes it.
    fn finish(&mut self) -> io::Result<()>;
}

/// A writer for `format`; it writes nothing until the first row or `finish`.
pub fn writer<'w, W: Write + 'w>(format: Format, out: W) -> Box<dyn RowWriter + 'w> {
    match format {
        Format::Table => Box::new(TableWriter::new(out)),
        Format::Json => Box::new(JsonWriter { out, rows: 0 }),
        Format::Csv => Box::new(CsvWriter {
            out: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out),
            header_written: false,
        }),
    }
}

const HEADERS: [&str; 4] = ["id", "s_name", "s_age", "s_score"];

/// Rows held to measure the columns before the table starts.
const PAGE_ROWS: usize = 1_000;

/// How each column is aligned: numbers right, the name left.
const RIGHT: [bool; 4] = [true, false, true, true];

type Cells = [String; 4];

struct TableWriter<W: Write> {
    out: W,
    /// The first page, until the widths are known; then empty for good.
    page: Option<Vec<Cells>>,
    widths: [usize; 4],
    rows: u64,
}

impl<W: Write> TableWriter<W> {
    fn new(out: W) -> Self {
        TableWriter {
            out,
            page: Some(Vec::with_capacity(PAGE_ROWS)),
            widths: HEADERS.map(str::len),
            rows: 0,
        }
    }

    /// Fits the widths to the held page and writes the header and the page.
    fn start(&mut self) -> io::Result<()> {
        let Some(page) = self.page.take() else {
            return Ok(());
        };
        for cells in &page {
            self.fit(cells);
        }
        self.rule()?;
        let header = HEADERS.map(str::to_owned);
        line(&mut self.out, &header, &self.widths, &[false; 4])?;
        self.rule()?;
        for cells in &page {
            line(&mut self.out, cells, &self.widths, &RIGHT)?;
        }
        Ok(())
    }

    /// Widens the columns to hold `cells`; says whether anything changed.
    fn fit(&mut self, cells: &Cells) -> bool {
        let mut widened = false;
        for (width, cell) in self.widths.iter_mut().zip(cells) {
            if cell.width() > *width {
                *width = cell.width();
                widened = true;
            }
        }
        widened
    }

    fn rule(&mut self) -> io::Result<()> {
        for w in self.widths {
            write!(self.out, "+{}", "-".repeat(w + 2))?;
        }
        writeln!(self.out, "+")
    }
}

fn line(
    out: &mut impl Write,
    cells: &Cells,
    widths: &[usize; 4],
    right: &[bool; 4],
) -> io::Result<()> {
    for ((text, width), right) in cells.iter().zip(widths).zip(right) {
        // Display width, not length: 小明 is four columns wide.
        let pad = " ".repeat(width.saturating_sub(text.width()));
        if *right {
            write!(out, "| {pad}{text} ")?;
        } else {
            write!(out, "| {text}{pad} ")?;
        }
    }
    writeln!(out, "|")
}

/// A name as the table shows it: characters that would act on the terminal (or hide, or
/// reverse the rest of the line) are escaped. The JSON and CSV outputs keep names verbatim.
fn shown_name(name: &str) -> String {
    if !name.chars().any(settings::needs_escape) {
        return name.to_owned();
    }
    name.chars()
        .map(|c| {
            if settings::needs_escape(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl<W: Write> RowWriter for TableWriter<W> {
    fn row(&mut self, s: &Student) -> io::Result<()> {
        self.rows += 1;
        let cells = [
            s.id.to_string(),
            shown_name(&s.s_name),
            s.s_age.to_string(),
            format_score(s.s_score),
        ];
        if let Some(page) = &mut self.page {
            page.push(cells);
            if page.len() == PAGE_ROWS {
                self.start()?;
            }
            return Ok(());
        }
        // A row wider than the first page's: a new rule at the new widths, so no line is
        // ever misaligned with the borders around it.
        if self.fit(&cells) {
            self.rule()?;
        }
        line(&mut self.out, &cells, &self.widths, &RIGHT)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.start()?;
        self.rule()?;
        let noun = if self.rows == 1 { "row" } else { "rows" };
        writeln!(self.out, "{} {noun}", self.rows)?;
        self.out.flush()
    }
}

struct JsonWriter<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> RowWriter for JsonWriter<W> {
    fn row(&mut self, s: &Student) -> io::Result<()> {
        // One object per line inside the array: valid JSON that still reads well.
        self.out
            .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
        self.rows += 1;
        serde_json::to_writer(&mut self.out, s).map_err(io::Error::from)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out
            .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()
    }
}

struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    /// The header, once: an empty table still gets one.
    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.out.write_record(HEADERS).map_err(csv_io)?;
        }
        Ok(())
    }
}

impl<W: Write> RowWriter for CsvWriter<W> {
    fn row(&mut self, s: &Student) -> io::Result<()> {
        self.header()?;
        self.out.serialize(s).map_err(csv_io)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: Format, rows: &[Student]) -> String {
        let mut buf = Vec::new();
        {
            let mut w = writer(format, &mut buf);
            for r in rows {
                w.row(r).unwrap();
            }
            w.finish().unwrap();
        }
        String::from_utf8(buf).unwrap()
    }

    fn student(id: i32, name: &str, score: f32) -> Student {
        Student {
            id,
            s_name: name.into(),
            s_age: 16,
            s_score: score,
        }
    }

    /// Every line between two rules is as wide as the rules around it.
    fn assert_aligned(out: &str) {
        let lines: Vec<&str> = out.lines().collect();
        let mut width = None;
        for l in &lines[..lines.len() - 1] {
            if l.starts_with('+') {
                width = Some(l.width());
            }
            assert_eq!(Some(l.width()), width, "misaligned {l:?} in\n{out}");
        }
    }

    #[test]
    fn table_aligns_cjk_names_by_display_width() {
        let out = render(
            Format::Table,
            &[student(1, "小明", 80.0), student(2, "xiaojun24", 84.5)],
        );
        assert_aligned(&out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[3], "|  1 | 小明      |    16 |    80.0 |", "{out}");
        assert_eq!(*lines.last().unwrap(), "2 rows");
    }

    #[test]
    fn table_fits_short_names_and_long_scores() {
        let out = render(
            Format::Table,
            &[
                student(1, "ab", 3.402_823_5e38),
                student(2, "c", 123_456_790.0),
            ],
        );
        assert_aligned(&out);
        assert!(out.lines().next().unwrap().width() < 50, "{out}");
        assert!(out.contains("| 3.4028235e38 |"), "{out}");
    }

    #[test]
    fn a_wider_row_after_the_first_page_gets_a_new_rule_not_a_misaligned_line() {
        let mut rows: Vec<Student> = (1..=PAGE_ROWS as i32)
            .map(|i| student(i, "a", 1.0))
            .collect();
        rows.push(student(5_000_000, "a much longer name", 1.0));
        rows.push(student(5_000_001, "b", 1.0));
        let out = render(Format::Table, &rows);
        assert_aligned(&out);
        assert!(
            out.contains("| a much longer name |"),
            "{}",
            &out[out.len() - 400..]
        );
    }

    #[test]
    fn table_escapes_what_would_act_on_the_terminal() {
        let out = render(Format::Table, &[student(1, "x\u{1b}[2Jy\u{202e}z", 1.0)]);
        assert!(out.contains("x\\u{1b}[2Jy\\u{202e}z"), "{out}");
        assert!(!out.contains('\u{1b}'));
    }

    #[test]
    fn json_is_one_array_even_when_empty() {
        assert_eq!(render(Format::Json, &[]), "[]\n");
        let out = render(
            Format::Json,
            &[student(1, "小明", 80.1), student(2, "b", 0.0)],
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed[0]["s_name"], "小明");
        assert_eq!(parsed[0]["s_score"].to_string(), "80.1");
        assert_eq!(parsed.as_array().unwrap().len(), 2);
    }

    #[test]
    fn csv_has_a_header_even_when_empty_and_quotes_names() {
        assert_eq!(render(Format::Csv, &[]), "id,s_name,s_age,s_score\n");
        let out = render(Format::Csv, &[student(7, "a,\"b\"", 87.5)]);
        assert_eq!(out, "id,s_name,s_age,s_score\n7,\"a,\"\"b\"\"\",16,87.5\n");
    }
}
