//! Writes students to stdout as they stream in: a table for people, JSON or CSV for programs.
//!
//! Nothing here holds more than one row, so printing a million rows takes no more memory
//! than printing ten.

use std::io::{self, Write};

use service::{Student, format_score};
use unicode_width::UnicodeWidthStr;

use crate::opt::Format;

/// Receives rows one at a time.
pub trait RowWriter {
    fn row(&mut self, student: &Student) -> io::Result<()>;
    /// Writes what closes the output and flushes it.
    fn finish(&mut self) -> io::Result<()>;
}

/// A writer for `format`, which may already have written its header.
pub fn writer<'w, W: Write + 'w>(format: Format, out: W) -> io::Result<Box<dyn RowWriter + 'w>> {
    Ok(match format {
        Format::Table => Box::new(TableWriter::new(out)?),
        Format::Json => Box::new(JsonWriter::new(out)),
        Format::Csv => Box::new(CsvWriter::new(out)?),
    })
}

const HEADERS: [&str; 4] = ["id", "s_name", "s_age", "s_score"];

/// Column widths fixed by the schema, so no pass over the data is needed: `id` is a positive
/// INT (10 digits), a name is at most 32 characters of at most two columns each.
const WIDTHS: [usize; 4] = [10, 2 * service::validate::NAME_MAX_CHARS, 5, 7];

struct TableWriter<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> TableWriter<W> {
    fn new(mut out: W) -> io::Result<Self> {
        rule(&mut out)?;
        let cells = HEADERS.map(|h| (h.to_owned(), Align::Left));
        line(&mut out, &cells)?;
        rule(&mut out)?;
        Ok(TableWriter { out, rows: 0 })
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

fn rule(out: &mut impl Write) -> io::Result<()> {
    for w in WIDTHS {
        write!(out, "+{}", "-".repeat(w + 2))?;
    }
    writeln!(out, "+")
}

fn line(out: &mut impl Write, cells: &[(String, Align); 4]) -> io::Result<()> {
    for ((text, align), width) in cells.iter().zip(WIDTHS) {
        // Display width, not length: 小明 is four columns wide. Longer cells overflow
        // rather than lose characters.
        let pad = " ".repeat(width.saturating_sub(text.width()));
        match align {
            Align::Left => write!(out, "| {text}{pad} ")?,
            Align::Right => write!(out, "| {pad}{text} ")?,
        }
    }
    writeln!(out, "|")
}

impl<W: Write> RowWriter for TableWriter<W> {
    fn row(&mut self, s: &Student) -> io::Result<()> {
        self.rows += 1;
        let cells = [
            (s.id.to_string(), Align::Right),
            (s.s_name.clone(), Align::Left),
            (s.s_age.to_string(), Align::Right),
            (format_score(s.s_score), Align::Right),
        ];
        line(&mut self.out, &cells)
    }

    fn finish(&mut self) -> io::Result<()> {
        rule(&mut self.out)?;
        let noun = if self.rows == 1 { "row" } else { "rows" };
        writeln!(self.out, "{} {noun}", self.rows)?;
        self.out.flush()
    }
}

struct JsonWriter<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    fn new(out: W) -> Self {
        JsonWriter { out, rows: 0 }
    }
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
}

impl<W: Write> CsvWriter<W> {
    fn new(out: W) -> io::Result<Self> {
        // The header is written up front so that an empty table still gets one.
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out);
        out.write_record(HEADERS).map_err(csv_io)?;
        Ok(CsvWriter { out })
    }
}

impl<W: Write> RowWriter for CsvWriter<W> {
    fn row(&mut self, s: &Student) -> io::Result<()> {
        self.out.serialize(s).map_err(csv_io)
    }

    fn finish(&mut self) -> io::Result<()> {
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
            let mut w = writer(format, &mut buf).unwrap();
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

    #[test]
    fn table_aligns_cjk_names_by_display_width() {
        let out = render(
            Format::Table,
            &[student(1, "小明", 80.0), student(2, "xiaojun24", 84.5)],
        );
        let lines: Vec<&str> = out.lines().collect();
        let widths: Vec<usize> = lines[..lines.len() - 1].iter().map(|l| l.width()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{out}");
        assert!(lines[3].contains("| 小明 "), "{out}");
        assert!(lines[3].ends_with("|    16 |    80.0 |"), "{out}");
        assert_eq!(*lines.last().unwrap(), "2 rows");
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
