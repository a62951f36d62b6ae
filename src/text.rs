//! Characters a person cannot see, or that a terminal or a text layout acts on: control
//! characters, invisible formatting (bidirectional overrides, zero-width characters), blanks
//! other than the plain space, private-use and non-characters. Login names with any of them are
//! refused ([`login_name_problem`]); every command-line output shows them escaped
//! ([`escape`]). Hand-written Unicode classes, small and stable (Unicode 15), unit-tested.

use std::borrow::Cow;

/// Whether `c` is a character a person cannot see or that acts on the display: general
/// categories Cc (controls, C1 included), Cf (format: bidi controls, zero-widths, soft hyphen,
/// tags), Zl, Zp, Co (private use), Zs other than U+0020, the non-characters, and the other
/// Default_Ignorable_Code_Points (Hangul fillers, variation selectors, ...).
pub fn is_hidden(c: char) -> bool {
    let cp = u32::from(c);
    matches!(cp,
        // Cc
        0x00..=0x1F | 0x7F..=0x9F
        // Zs other than U+0020
        | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000
        // Cf
        | 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        // Zl, Zp
        | 0x2028 | 0x2029
        // Co
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD
        // Other Default_Ignorable_Code_Points
        | 0x34F | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180D | 0x180F | 0x3164
        | 0xFE00..=0xFE0F | 0xFFA0 | 0xE0000 | 0xE0002..=0xE001F | 0xE0080..=0xE0FFF
        // Non-characters
        | 0xFDD0..=0xFDEF
    ) || cp & 0xFFFE == 0xFFFE
}

/// Why `name` cannot be a login name, if it cannot: a hidden character ([`is_hidden`]; named by
/// its code point, never shown raw) or a space at either end. Login names are taken exactly as
/// sent (SPEC section 5): never trimmed, refused instead.
pub fn login_name_problem(name: &str) -> Option<String> {
    if let Some((at, c)) = name.char_indices().find(|(_, c)| is_hidden(*c)) {
        return Some(format!(
            "the login name {} has the invisible or control character U+{:04X} at byte {at}",
            escape(name),
            u32::from(c)
        ));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Some(format!(
            "the login name {} begins or ends with a space",
            escape(name)
        ));
    }
    None
}

/// `text` for a terminal or a log line: every hidden character ([`is_hidden`], line breaks and
/// tabs included) as `\u{...}`, and `\` as `\\`, so that nothing stored (or sent by an attacker)
/// can move the cursor, reorder the line or hide a part of it. Unchanged text is borrowed.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c == '\\' || is_hidden(c))
}

/// The last line of defence of every command-line output, applied to whole lines after the
/// stored fields in them went through [`escape`]: every hidden character but line breaks and
/// tabs as `\u{...}`; backslashes are left alone (so escaped fields are not escaped twice).
pub fn escape_output(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| is_hidden(c) && c != '\n' && c != '\t')
}

fn escape_where(text: &str, needs: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !needs(c) => out.push(c),
            '\\' => out.push_str("\\\\"),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_is_hidden() {
        let hidden = [
            '\0',
            '\n',
            '\t',
            '\u{1b}',
            '\u{7f}',
            '\u{9b}', // Cc, C1 CSI
            '\u{a0}',
            '\u{2007}',
            '\u{3000}', // Zs other than space
            '\u{ad}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{61c}',
            '\u{2060}',
            '\u{feff}',
            '\u{e0041}', // Cf
            '\u{2028}',
            '\u{2029}', // Zl, Zp
            '\u{e000}',
            '\u{f8ff}',
            '\u{10fffd}', // Co
            '\u{115f}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{fe0f}',
            '\u{180b}', // ignorables
            '\u{fdd0}',
            '\u{fffe}',
            '\u{1ffff}', // non-characters
        ];
        for c in hidden {
            assert!(is_hidden(c), "U+{:04X}", u32::from(c));
        }
        for c in [' ', 'a', 'é', 'ß', '中', '@', '-', '\u{301}', '😀', 'Ω'] {
            assert!(!is_hidden(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn login_names_are_refused_not_trimmed() {
        assert_eq!(login_name_problem("alice@example.com"), None);
        assert_eq!(login_name_problem("Zoë Müller"), None);
        for bad in [
            "alice@test\u{a0}",
            "bob\u{202e}txt",
            "a\u{200b}dmin",
            "x\u{9b}2J",
            " alice",
            "alice ",
            "al\nice",
        ] {
            let problem = login_name_problem(bad).unwrap_or_else(|| panic!("{bad:?}"));
            assert!(!problem.chars().any(is_hidden), "{problem:?}");
        }
    }

    #[test]
    fn escape_shows_what_a_terminal_would_act_on() {
        assert!(matches!(escape("plain text"), Cow::Borrowed(_)));
        assert_eq!(escape("bob\u{202e}txt"), "bob\\u{202e}txt");
        assert_eq!(escape("\u{1b}[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(escape("a\\u{1b}"), "a\\\\u{1b}");
        assert_eq!(escape("two\nlines"), "two\\u{a}lines");
        assert_eq!(escape_output("two\nlines\u{7}\\"), "two\nlines\\u{7}\\");
    }
}
