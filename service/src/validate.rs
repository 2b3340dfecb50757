//! The rules every backend enforces the same way, checked before anything reaches the database.

pub use entity::student::NAME_MAX_CHARS;

use crate::error::{Error, Result};

/// Youngest and oldest accepted age, in years.
pub const AGE_RANGE: std::ops::RangeInclusive<i64> = 0..=150;

/// Default age of a new student, as in the original model.
pub const DEFAULT_AGE: i32 = 18;

/// Default score of a new student, as in the original model.
pub const DEFAULT_SCORE: f32 = 0.0;

/// A student that passed validation and can be inserted.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStudent {
    /// Trimmed name, 1 to 32 characters, no control characters.
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
pub fn name_rule(raw: &str) -> Result<String> {
    let name = raw.trim();
    let allowed = format!("a name is 1 to {NAME_MAX_CHARS} characters without control characters");
    if name.is_empty() {
        return Err(Error::invalid("name", raw.escape_debug(), allowed));
    }
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(Error::invalid(
            "name",
            name,
            format!("it has {chars} characters; {allowed}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", name.escape_debug(), allowed));
    }
    Ok(name.to_owned())
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

/// Checks that the score is finite, non-negative and representable as a `FLOAT`.
pub fn score_rule(score: f64) -> Result<f32> {
    let allowed = "a score is a finite number >= 0";
    // `is_finite` is false for NaN too, so every comparison after it is meaningful.
    if !score.is_finite() || score < 0.0 {
        return Err(Error::invalid("score", score, allowed));
    }
    let single = score as f32;
    if !single.is_finite() {
        return Err(Error::invalid(
            "score",
            score,
            format!("{allowed} and at most {:e}", f32::MAX),
        ));
    }
    Ok(single)
}

/// Checks a row count for `seed`.
pub fn count_rule(count: u64) -> Result<u64> {
    if count == 0 {
        return Err(Error::invalid(
            "count",
            count,
            "a count is a whole number of at least 1",
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
    fn score_prints_as_written() {
        assert_eq!(format_score(score_rule(80.1).unwrap()), "80.1");
        assert_eq!(format_score(score_rule(87.5).unwrap()), "87.5");
        assert_eq!(format_score(score_rule(80.0).unwrap()), "80.0");
    }

    #[test]
    fn defaults_apply() {
        let s = NewStudent::new("x", None, None).unwrap();
        assert_eq!((s.age, s.score), (18, 0.0));
    }
}
