//! Showing a value the user gave inside a one-line message: safely and briefly.

use std::fmt::Write;

/// Longest quoted value shown whole; longer ones are cut and their length is given.
const SHOWN_CHARS: usize = 40;

/// `value` in backticks, with control, invisible and direction-changing characters escaped
/// (`\u{202e}`) so nothing reaches the terminal but text, and cut after 40 characters
/// (saying how long it was) so a 120 KB value makes a short message.
pub fn quoted(value: &str) -> String {
    let total = value.chars().count();
    let mut out = String::with_capacity(value.len().min(4 * SHOWN_CHARS) + 2);
    out.push('`');
    for c in value.chars().take(SHOWN_CHARS) {
        if needs_escape(c) {
            let _infallible = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out.push('`');
    if total > SHOWN_CHARS {
        let _infallible = write!(out, "… ({total} characters)");
    }
    out
}

/// Characters that are not shown as themselves: C0/C1 controls, line and paragraph
/// separators, and Unicode's default-ignorable code points (zero-width and bidi controls,
/// fillers, tags, variation selectors), which are invisible or reorder what follows.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_default_ignorable(c)
}

/// Unicode's `Default_Ignorable_Code_Point` property (DerivedCoreProperties.txt, 15.1).
pub fn is_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_would_act_on_the_terminal() {
        assert_eq!(quoted("a\u{1b}]0;pwned\u{7}b"), "`a\\u{1b}]0;pwned\\u{7}b`");
        assert_eq!(quoted("ab\u{202e}cd"), "`ab\\u{202e}cd`");
        assert_eq!(quoted("x\u{200b}"), "`x\\u{200b}`");
        assert_eq!(quoted("小明"), "`小明`");
    }

    #[test]
    fn long_values_are_cut_and_measured() {
        let shown = quoted(&"x".repeat(120_000));
        assert!(shown.len() < 80, "{shown}");
        assert!(shown.ends_with("… (120000 characters)"), "{shown}");
    }
}
