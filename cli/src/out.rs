//! Every line the command line writes goes through here, escaped with
//! [`fedbridge::text::escape_output`]: a login name, group name, setting value or detail that
//! holds a terminal escape, a bidirectional override or another invisible character is shown
//! as `\u{...}` and can never move the cursor, clear the screen or reorder what the
//! administrator reads. Fields are escaped with [`fedbridge::text::escape`] where they are put
//! in a line (so that a line break in a stored name cannot forge another line). A test keeps
//! the print macros out of every other file of the command line.

use std::io::Write as _;

use fedbridge::text::escape_output;

/// Writes `text` to standard output, escaped.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(escape_output(text).as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` to standard output exactly as it is: only for `config get --raw`, which an
/// administrator asks for by name.
pub(crate) fn out_raw(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` to standard error, escaped.
pub(crate) fn err(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(escape_output(text).as_bytes());
}

/// `println!` through [`out`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::out(&format!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` through [`err`].
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::err(&format!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {errln, outln};

/// A JSON document for standard output: hidden characters, which serde_json leaves as they
/// are inside strings (only controls below U+0020 are escaped), written as `\uXXXX` escapes
/// (surrogate pairs above U+FFFF), so the line stays valid JSON. They can only be inside
/// strings: JSON's own syntax is ASCII.
pub(crate) fn json_line(json: &str) -> String {
    let mut line = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if fedbridge::text::is_hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                line.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            line.push(c);
        }
    }
    line.push('\n');
    line
}
