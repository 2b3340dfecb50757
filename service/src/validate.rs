//! The rules every backend enforces the same way, checked before anything reaches the database.

pub use entity::student::NAME_MAX_CHARS;

use unicode_properties::general_category::{
    GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory,
};

use crate::error::{Error, Result};
use crate::names::NAME_SPACE;

/// Youngest and oldest accepted age, in years.
pub const AGE_RANGE: std::ops::RangeInclusive<i64> = 0..=150;

/// Default age of a new student, as in the original model.
pub const DEFAULT_AGE: i32 = 18;

/// Default score of a new student, as in the original model.
pub const DEFAULT_SCORE: f32 = 0.0;

/// A student that passed validation and can be inserted.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStudent {
    /// Trimmed name, 1 to 32 characters, nothing invisible or direction-changing.
    pub name: String,
    /// Age within [`AGE_RANGE`].
    pub age: i32,
    /// Finite, non-negative score that fits a single-precision `FLOAT`.
    pub score: f32,
}

impl NewStudent {
    /// Validates raw input; `None` means the column default.
    pub fn new(name: &str, age: Option<i64>, score: Option<f64>) -> Result<Self> {
        Ok(NewStudent {
            name: name_rule(name)?,
            age: age.map_or(Ok(DEFAULT_AGE), age_rule)?,
            score: score.map_or(Ok(DEFAULT_SCORE), score_rule)?,
        })
    }
}

/// Trims the name and checks its length (in Unicode scalar values) and characters.
///
/// A name may hold any script, combining marks and emoji, but nothing that is invisible or
/// changes the direction of the text around it (a U+202E would reverse the rest of a `list`
/// line). Joiners, variation selectors and tags are kept where real names need them: a
/// zero-width (non-)joiner between two visible characters (Persian, Indic, emoji sequences), a
/// variation selector after the character it varies (`❤️`), tags inside an emoji flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
pub fn name_rule(raw: &str) -> Result<String> {
    let name = raw.trim();
    let allowed = format!(
        "a name is 1 to {NAME_MAX_CHARS} characters without control, invisible or direction-changing characters"
    );
    if name.is_empty() {
        return Err(Error::invalid("name", raw, allowed));
    }
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(Error::invalid(
            "name",
            name,
            format!("it has {chars} characters; {allowed}"),
        ));
    }
    if let Some((c, what)) = hidden_character(name) {
        return Err(Error::invalid(
            "name",
            name,
            format!("it contains U+{:04X}, {what}; {allowed}", u32::from(c)),
        ));
    }
    Ok(name.to_owned())
}

/// The first character of `name` that would not show as itself, and what it is.
fn hidden_character(name: &str) -> Option<(char, &'static str)> {
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let code = u32::from(c);
        if c.is_control() {
            return Some((c, "a control character"));
        }
        if matches!(c, '\u{2028}' | '\u{2029}') {
            return Some((c, "a line or paragraph separator"));
        }
        if matches!(code, 0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069) {
            return Some((c, "a character that changes text direction"));
        }
        if matches!(c, ZWNJ | ZWJ) {
            // Between two visible characters it shapes them (می‌خواهم, क्‍ष, 👩‍👩‍👧); a
            // selector before it belongs to the visible character it follows (🏳️‍🌈).
            let after_visible = prev.is_some_and(|p| shows(p) || is_variation_selector(p));
            let before_visible = next.is_some_and(|n| shows(n) && !is_mark(n));
            if !(after_visible && before_visible) {
                return Some((
                    c,
                    "an invisible joiner that joins no two visible characters",
                ));
            }
        } else if is_variation_selector(c) {
            if !prev.is_some_and(shows) {
                return Some((c, "a variation selector that follows no visible character"));
            }
        } else if c == BLACK_FLAG && next.is_some_and(is_tag) {
            // An emoji tag sequence: the flag, tag letters, then CANCEL TAG (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
            let mut j = i + 1;
            while chars.get(j).is_some_and(|&t| is_tag(t) && t != CANCEL_TAG) {
                j += 1;
            }
            match chars.get(j) {
                Some(&CANCEL_TAG) => i = j,
                Some(&other) => {
                    return Some((other, "a character inside an unfinished emoji flag"));
                }
                None => {
                    return Some((chars[j - 1], "an invisible tag of an unfinished emoji flag"));
                }
            }
        } else if settings::is_default_ignorable(c) {
            return Some((c, "an invisible character"));
        } else if c.general_category() == GeneralCategory::Format {
            return Some((c, "an invisible formatting character"));
        } else if i == 0 && is_mark(c) {
            // It would combine with whatever is printed before the name.
            return Some((c, "a combining mark with no character to combine with"));
        }
        i += 1;
    }
    None
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';
const BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';

/// Whether `c` shows as itself: not a space and not escaped when quoted.
fn shows(c: char) -> bool {
    !c.is_whitespace()
        && !settings::needs_escape(c)
        && c.general_category() != GeneralCategory::Format
}

fn is_mark(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Mark
}

fn is_variation_selector(c: char) -> bool {
    matches!(
        u32::from(c),
        0x180B..=0x180D | 0x180F | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF
    )
}

fn is_tag(c: char) -> bool {
    (0xE0020..=0xE007F).contains(&u32::from(c))
}

/// Checks that the age is within [`AGE_RANGE`].
pub fn age_rule(age: i64) -> Result<i32> {
    if !AGE_RANGE.contains(&age) {
        return Err(Error::invalid(
            "age",
            age,
            format!(
                "an age is a whole number from {} to {}",
                AGE_RANGE.start(),
                AGE_RANGE.end()
            ),
        ));
    }
    i32::try_from(age).map_err(|_| Error::invalid("age", age, "an age fits in 32 bits"))
}

/// Checks that the score is finite, non-negative and representable as a `FLOAT`; `-0.0` is 0.
pub fn score_rule(score: f64) -> Result<f32> {
    let allowed = "a score is a finite number >= 0";
    // `is_finite` is false for NaN too, so every comparison after it is meaningful.
    if !score.is_finite() || score < 0.0 {
        return Err(Error::invalid("score", score, allowed));
    }
    let single = score as f32;
    if single == 0.0 {
        // `-0.0` too: PostgreSQL would store and list the sign.
        return Ok(0.0);
    }
    if !single.is_finite() {
        return Err(Error::invalid(
            "score",
            score,
            format!("{allowed} and at most {:e}", f32::MAX),
        ));
    }
    Ok(single)
}

/// Checks a row count for `seed`: at least 1, and no more than the generator has names for
/// (more could never finish; it would only run for hours in one transaction first).
pub fn count_rule(count: u64) -> Result<u64> {
    if count == 0 {
        return Err(Error::invalid(
            "count",
            count,
            "a count is a whole number of at least 1",
        ));
    }
    if count > NAME_SPACE {
        return Err(Error::invalid(
            "count",
            count,
            format!("the generator has {NAME_SPACE} distinct names, so a count is at most that"),
        ));
    }
    Ok(count)
}

/// Formats a score the way it was written: `80.1` stays `80.1`, `80` becomes `80.0`.
///
/// `FLOAT` is single precision, so the value is printed as the shortest decimal that reads
/// back as the same `f32`, never widened to `f64` (which would print `80.0999984741211`).
pub fn format_score(score: f32) -> String {
    format!("{score:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_trimmed_and_counted_in_characters() {
        assert_eq!(name_rule("  小明 ").unwrap(), "小明");
        let cjk32: String = "学".repeat(32);
        assert_eq!(name_rule(&cjk32).unwrap(), cjk32);
        let err = name_rule(&"学".repeat(33)).unwrap_err().to_string();
        assert!(err.contains("33 characters"), "{err}");
    }

    #[test]
    fn name_rejects_empty_and_control_characters() {
        assert!(name_rule("   ").is_err());
        assert!(name_rule("").is_err());
        let err = name_rule("a\u{7}b").unwrap_err().to_string();
        assert!(err.contains("a\\u{7}b"), "{err}");
    }

    #[test]
    fn names_real_people_write_are_kept_verbatim() {
        let names = [
            "नमस्ते",                   // Devanagari: virama and vowel signs
            "क्\u{200D}ष",             // ZWJ after a virama (Indic half form)
            "می\u{200C}خواهم",        // Persian ZWNJ between letters
            "👩\u{200D}👩\u{200D}👧", // emoji ZWJ sequence
            "🏳\u{FE0F}\u{200D}🌈",    // selector, then joiner
            "👩🏽\u{200D}💻",           // skin tone modifier, then joiner
            "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}", // Scotland's flag
            "Zoe\u{0308}",            // Zoë, decomposed
            "❤\u{FE0F}",              // emoji presentation selector
            "1\u{FE0F}\u{20E3}",      // keycap
            "葛\u{E0100}",            // CJK ideographic variation sequence
            "ᠠ\u{180B}",              // Mongolian free variation selector
            "Nguyễn Thị Minh Khai",
            "O'Brien-Søren",
            "José\u{00A0}María", // no-break space inside
        ];
        for name in names {
            assert_eq!(name_rule(name).unwrap(), name, "{name:?}");
        }
    }

    #[test]
    fn invisible_and_direction_changing_names_are_refused_by_code_point() {
        let attacks = [
            ("a\u{200B}b", "U+200B"),   // zero-width space
            ("ab\u{202E}cd", "U+202E"), // right-to-left override
            ("a\u{2028}b", "U+2028"),   // line separator
            ("a\u{2066}b", "U+2066"),   // isolate
            ("a\u{200F}b", "U+200F"),   // right-to-left mark
            ("a\u{061C}b", "U+061C"),   // Arabic letter mark
            ("\u{3164}", "U+3164"),     // Hangul filler: a blank-looking name
            ("a\u{00AD}b", "U+00AD"),   // soft hyphen
            ("\u{FEFF}x", "U+FEFF"),    // byte order mark
            ("x\u{2060}y", "U+2060"),   // word joiner
            ("x\u{FFF9}y", "U+FFF9"),   // interlinear annotation (format, not ignorable)
            ("\u{200D}a", "U+200D"),    // joiner with nothing before it
            ("a\u{200D}", "U+200D"),    // joiner with nothing after it
            ("a\u{200C}\u{200C}b", "U+200C"),
            ("a \u{200D}b", "U+200D"),       // joiner after a space
            ("a\u{200D}\u{0301}", "U+200D"), // joiner before a mark
            ("\u{FE0F}a", "U+FE0F"),         // selector with nothing to vary
            ("a \u{FE0F}", "U+FE0F"),
            ("a\u{FE0F}\u{FE0F}", "U+FE0F"),
            ("a\u{E0041}", "U+E0041"),           // tag outside a flag
            ("🏴\u{E0067}\u{E0062}", "U+E0062"), // flag never cancelled
            ("🏴\u{E0067}x\u{E007F}", "U+0078"),
            ("a\u{E007F}", "U+E007F"),
            ("\u{0301}a", "U+0301"), // mark that would combine with the table border
        ];
        for (name, code) in attacks {
            let err = name_rule(name).expect_err(name).to_string();
            assert!(
                err.contains(&format!("contains {code},")),
                "{name:?}: {err}"
            );
            // The value itself is shown escaped: nothing invisible reaches the terminal.
            assert!(
                !err.chars().any(settings::needs_escape),
                "{name:?}: {err:?}"
            );
        }
    }

    #[test]
    fn errors_quote_the_raw_value_once_and_stay_short() {
        // A backslash the user typed is shown as one backslash, a tab as one escape.
        let err = name_rule("a\\b\tc").unwrap_err().to_string();
        assert!(err.contains(r"`a\b\u{9}c`"), "{err}");
        let long = "x".repeat(120_000);
        let err = name_rule(&long).unwrap_err().to_string();
        assert!(err.len() < 250, "{} bytes: {err}", err.len());
        assert!(err.contains("120000 characters"), "{err}");
    }

    #[test]
    fn name_keeps_sql_verbatim() {
        let s = "'; DROP TABLE student; --";
        assert_eq!(name_rule(s).unwrap(), s);
    }

    #[test]
    fn age_bounds() {
        assert_eq!(age_rule(0).unwrap(), 0);
        assert_eq!(age_rule(150).unwrap(), 150);
        assert!(age_rule(-1).is_err());
        assert!(age_rule(151).is_err());
        assert!(age_rule(i64::MAX).is_err());
    }

    #[test]
    fn score_rejects_nan_infinity_negative_and_overflow() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5, 1e300] {
            assert!(score_rule(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(score_rule(87.5).unwrap(), 87.5);
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        for zero in [-0.0, 0.0, -0.0 * 1e-300] {
            let stored = score_rule(zero).unwrap();
            assert!(
                stored == 0.0 && stored.is_sign_positive(),
                "{zero} → {stored}"
            );
            assert_eq!(format_score(stored), "0.0");
        }
    }

    #[test]
    fn score_prints_as_written() {
        assert_eq!(format_score(score_rule(80.1).unwrap()), "80.1");
        assert_eq!(format_score(score_rule(87.5).unwrap()), "87.5");
        assert_eq!(format_score(score_rule(80.0).unwrap()), "80.0");
    }

    #[test]
    fn count_is_at_least_one_and_at_most_the_name_space() {
        assert!(count_rule(0).is_err());
        assert_eq!(count_rule(1).unwrap(), 1);
        assert_eq!(count_rule(NAME_SPACE).unwrap(), NAME_SPACE);
        let err = count_rule(NAME_SPACE + 1).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("523994760 distinct names"),
            "{err}"
        );
    }

    #[test]
    fn defaults_apply() {
        let s = NewStudent::new("x", None, None).unwrap();
        assert_eq!((s.age, s.score), (18, 0.0));
    }
}
